import { eventTime, MAX_FUTURE_SKEW_MS } from "./event-time.js";
import type { EventLocation, IdentityChange, InboundEvent, NormalizeOptions, Route } from "./inbound-event.js";
import { identityChangeOf, sharedPhoneOf } from "./normalize-identity.js";
import { normalizeMessage, normalizeStatus, readWebhookError, type TimeOptions } from "./normalize-message.js";
import { describe, isObject, issuesText, own, readId } from "./payload-read.js";
import { safeRaw, safeRawResult, safeText, unescapeKey } from "./safe-raw.js";
import { accountFieldSchemaFor, type WebhookError } from "./webhook-schema.js";

/**
 * Turns one webhook delivery into the flat list of everything it carries: every entry, every change,
 * every message, status and error (peers read only the first of each and lose the rest).
 *
 * It never throws, whatever JSON value it is given. Each level is checked on its own, from the
 * envelope down: a part that cannot be understood becomes one `malformed` event (reason, location,
 * and the part itself through `safeRaw`) and its neighbours are read as usual. A delivery that is
 * not an object, or whose `object` is not `whatsapp_business_account`, or whose `entry` is not an
 * array, is one `malformed` event for the whole delivery. An entry without a usable `id` or
 * `changes` array is one for the entry; a bad `entry.time` is one of its own, and the entry's
 * changes are still read. Timestamps are clamped to `opts.receivedAt` (see `eventTime`).
 *
 * Every value in the events can be stored on MongoDB 7 and FerretDB as it is.
 */
export function normalizeDelivery(payload: unknown, opts: NormalizeOptions = {}): InboundEvent[] {
  const receivedAt = opts.receivedAt && !Number.isNaN(opts.receivedAt.getTime()) ? opts.receivedAt : new Date();
  const t: TimeOptions = { receivedAt, maxFutureSkewMs: opts.maxFutureSkewMs ?? MAX_FUTURE_SKEW_MS };
  const events: InboundEvent[] = [];
  const root: EventLocation = { path: "$" };
  guarded(events, "delivery", payload, root, {}, (out) => {
    if (!isObject(payload))
      return malformed(out, "delivery", `delivery is ${describe(payload)}, not an object`, payload, root);
    const object = own(payload, "object");
    if (object !== "whatsapp_business_account") {
      const named = typeof object === "string" ? `"${safeText(object, 64)}"` : describe(object);
      return malformed(out, "delivery", `object is ${named}, not "whatsapp_business_account"`, payload, root);
    }
    const entries = own(payload, "entry");
    if (!Array.isArray(entries))
      return malformed(out, "delivery", `entry is ${describe(entries)}, not an array`, payload, root);
    entries.forEach((entry, i) => {
      const loc = { path: `$.entry[${i}]`, entry: i };
      guarded(out, "entry", entry, loc, {}, (o) => readEntry(o, entry, loc, t));
    });
  });
  return events;
}

function readEntry(out: InboundEvent[], entry: unknown, loc: { path: string; entry: number }, t: TimeOptions): void {
  if (!isObject(entry)) return malformed(out, "entry", `entry is ${describe(entry)}, not an object`, entry, loc);
  const id = readId(own(entry, "id"), "entry.id");
  if ("problem" in id) return malformed(out, "entry", id.problem, entry, loc);
  const wabaId = id.id;
  const changes = own(entry, "changes");
  if (!Array.isArray(changes))
    return malformed(out, "entry", `entry.changes is ${describe(changes)}, not an array`, entry, loc, { wabaId });

  const rawTime = own(entry, "time");
  let time: Date | undefined;
  if (rawTime !== undefined) {
    const et = eventTime(rawTime, t.receivedAt, t.maxFutureSkewMs);
    if (et.adjusted === "invalid") {
      malformed(
        out,
        "entry",
        "entry.time is not unix seconds",
        rawTime,
        { path: `${loc.path}.time`, entry: loc.entry },
        { wabaId },
      );
    } else time = et.at;
  }
  changes.forEach((change, j) => {
    const at = { path: `${loc.path}.changes[${j}]`, entry: loc.entry, change: j };
    guarded(out, "changes", change, at, { wabaId }, (o) => readChange(o, change, wabaId, time, at, t));
  });
}

type ChangeLocation = { path: string; entry: number; change: number };

function readChange(
  out: InboundEvent[],
  change: unknown,
  wabaId: string,
  time: Date | undefined,
  loc: ChangeLocation,
  t: TimeOptions,
): void {
  if (!isObject(change))
    return malformed(out, "changes", `change is ${describe(change)}, not an object`, change, loc, { wabaId });
  const field = own(change, "field");
  if (typeof field !== "string" || field.length === 0 || field.length > 128) {
    const why =
      typeof field !== "string"
        ? `${describe(field)}, not a string`
        : field.length === 0
          ? "empty"
          : "longer than 128 characters";
    return malformed(out, "changes", `change.field is ${why}`, change, loc, { wabaId });
  }
  const value = own(change, "value");
  if (field === "messages") return readMessagesValue(out, value, wabaId, loc, t);
  if (field === "smb_message_echoes") return readEchoesValue(out, value, wabaId, loc, t);

  // Any other field, known or not (a field named `constructor` is simply unknown), is recorded.
  const schema = accountFieldSchemaFor(field);
  const kept = safeRawResult(value);
  const checked = schema?.safeParse(value);
  out.push({
    kind: "account",
    wabaId,
    field: safeText(field, 128),
    ...(time ? { time } : {}),
    value: checked?.success && !kept.truncated ? withConvertedPrimitives(kept.value, checked.data) : kept.value,
    valid: checked ? checked.success : true,
    ...(checked && !checked.success ? { problem: issuesText(checked.error) } : {}),
    location: loc,
  });
}

/**
 * The schema's conversions of top-level primitives (a template id sent as a number becomes a
 * string), applied to the value as received: zod's output itself is not kept (see webhook-schema).
 */
function withConvertedPrimitives(kept: unknown, parsed: unknown): unknown {
  if (!isObject(kept) || !isObject(parsed)) return kept;
  for (const key of Object.keys(kept)) {
    const p = own(parsed, unescapeKey(key));
    if (typeof p === "string" || typeof p === "number" || typeof p === "boolean") kept[key] = safeRaw(p);
  }
  return kept;
}

interface Contact {
  waId?: string;
  userId?: string;
  profileName?: string;
  username?: string;
  parentUserId?: string;
}

function readMessagesValue(
  out: InboundEvent[],
  value: unknown,
  wabaId: string,
  loc: ChangeLocation,
  t: TimeOptions,
): void {
  if (!isObject(value))
    return malformed(out, "messages", `value is ${describe(value)}, not an object`, value, loc, { wabaId });
  const metadata = own(value, "metadata");
  if (!isObject(metadata))
    return malformed(out, "messages", `value.metadata is ${describe(metadata)}, not an object`, value, loc, { wabaId });
  const phone = readId(own(metadata, "phone_number_id"), "metadata.phone_number_id");
  if ("problem" in phone) return malformed(out, "messages", phone.problem, value, loc, { wabaId });
  const display = own(metadata, "display_phone_number");
  const route: Route = {
    wabaId,
    phoneNumberId: phone.id,
    ...(typeof display === "string" && display ? { displayPhoneNumber: safeText(display, 64) } : {}),
  };
  const at = (part: string, index?: number): EventLocation => ({
    path: `${loc.path}.value.${part}${index === undefined ? "" : `[${index}]`}`,
    entry: loc.entry,
    change: loc.change,
    ...(index === undefined ? {} : { index }),
  });
  const elements = (part: string, field: string): unknown[] => {
    const v = own(value, part);
    if (v === undefined) return [];
    if (Array.isArray(v)) return v;
    malformed(out, field, `value.${part} is ${describe(v)}, not an array`, v, at(part), route);
    return [];
  };

  const contacts: Contact[] = [];
  elements("contacts", "contacts").forEach((c, k) => {
    const contact = readContact(c);
    if ("problem" in contact) malformed(out, "contacts", contact.problem, c, at("contacts", k), route);
    else contacts.push(contact);
  });

  elements("messages", "messages").forEach((rawMessage, k) => {
    guarded(out, "messages", rawMessage, at("messages", k), route, (o) => {
      const read = normalizeMessage(rawMessage, t);
      if ("problem" in read) return malformed(o, "messages", read.problem, rawMessage, at("messages", k), route);
      const contact = findContact(contacts, read.waId, read.userId);
      // A username-only candidate's answer to a contact-information request links their number.
      const change =
        read.message.type === "system"
          ? identityChangeOf(rawMessage, read.waId, read.userId)
          : read.message.type === "contacts" && !read.waId && !contact?.waId
            ? sharedPhoneOf(rawMessage)
            : undefined;
      const waId = read.waId ?? contact?.waId;
      // A number change names its person by the ids it replaces (the old number and user id): those
      // find the conversation it moves.
      const userId = change?.userId?.from ?? read.userId ?? contact?.userId;
      const candidateKey = waId ?? userId;
      if (!candidateKey) {
        return malformed(
          o,
          "messages",
          "message has no usable from or from_user_id, and no contact gives one",
          rawMessage,
          at("messages", k),
          route,
        );
      }
      o.push({
        kind: "message",
        ...route,
        candidateKey,
        ...(waId ? { waId } : {}),
        ...(userId ? { userId } : {}),
        ...(contact?.profileName ? { profileName: contact.profileName } : {}),
        ...(contact?.username ? { username: contact.username } : {}),
        ...parentUserIdField(rawMessage, contact),
        ...identityChangeField(change),
        message: read.message,
        location: at("messages", k),
      });
    });
  });

  elements("statuses", "statuses").forEach((rawStatus, k) => {
    guarded(out, "statuses", rawStatus, at("statuses", k), route, (o) => {
      const status = normalizeStatus(rawStatus, t);
      if ("problem" in status) return malformed(o, "statuses", status.problem, rawStatus, at("statuses", k), route);
      o.push({ kind: "status", ...route, status, location: at("statuses", k) });
    });
  });

  const errors: WebhookError[] = [];
  elements("errors", "errors").forEach((e, k) => {
    const error = readWebhookError(e);
    if ("problem" in error) malformed(out, "errors", error.problem, e, at("errors", k), route);
    else errors.push(error.error);
  });
  if (errors.length) out.push({ kind: "value_errors", ...route, errors, location: at("errors") });
}

/**
 * `smb_message_echoes` (coexistence numbers): the messages envelope with `message_echoes[]`, each
 * `{ from: <business number>, to?, to_user_id?, id, timestamp, type, <type> }`. Read like a message
 * whose candidate is the recipient; an echo without a usable `to` or `to_user_id` is malformed.
 */
function readEchoesValue(
  out: InboundEvent[],
  value: unknown,
  wabaId: string,
  loc: ChangeLocation,
  t: TimeOptions,
): void {
  const field = "smb_message_echoes";
  if (!isObject(value))
    return malformed(out, field, `value is ${describe(value)}, not an object`, value, loc, { wabaId });
  const metadata = own(value, "metadata");
  if (!isObject(metadata))
    return malformed(out, field, `value.metadata is ${describe(metadata)}, not an object`, value, loc, { wabaId });
  const phone = readId(own(metadata, "phone_number_id"), "metadata.phone_number_id");
  if ("problem" in phone) return malformed(out, field, phone.problem, value, loc, { wabaId });
  const display = own(metadata, "display_phone_number");
  const route: Route = {
    wabaId,
    phoneNumberId: phone.id,
    ...(typeof display === "string" && display ? { displayPhoneNumber: safeText(display, 64) } : {}),
  };
  const at = (k: number): EventLocation => ({
    path: `${loc.path}.value.message_echoes[${k}]`,
    entry: loc.entry,
    change: loc.change,
    index: k,
  });
  const echoes = own(value, "message_echoes");
  if (echoes === undefined) return;
  if (!Array.isArray(echoes))
    return malformed(out, field, `value.message_echoes is ${describe(echoes)}, not an array`, echoes, loc, route);
  echoes.forEach((rawEcho, k) => {
    guarded(out, field, rawEcho, at(k), route, (o) => {
      if (!isObject(rawEcho))
        return malformed(o, field, `echo is ${describe(rawEcho)}, not an object`, rawEcho, at(k), route);
      // The recipient is the candidate: read it where a message names its sender.
      const asMessage: Record<string, unknown> = {
        ...rawEcho,
        from: own(rawEcho, "to"),
        from_user_id: own(rawEcho, "to_user_id"),
      };
      const read = normalizeMessage(asMessage, t);
      if ("problem" in read) return malformed(o, field, read.problem, rawEcho, at(k), route);
      const candidateKey = read.waId ?? read.userId;
      if (!candidateKey) return malformed(o, field, "echo has no usable to or to_user_id", rawEcho, at(k), route);
      o.push({
        kind: "echo",
        ...route,
        candidateKey,
        ...(read.waId ? { waId: read.waId } : {}),
        ...(read.userId ? { userId: read.userId } : {}),
        message: read.message,
        location: at(k),
      });
    });
  });
}

const identityChangeField = (change: IdentityChange | undefined) => (change ? { identityChange: change } : {});

function readContact(c: unknown): Contact | { problem: string } {
  if (!isObject(c)) return { problem: `contact is ${describe(c)}, not an object` };
  const contact: Contact = {};
  for (const [key, name] of [
    ["wa_id", "waId"],
    ["user_id", "userId"],
  ] as const) {
    const v = own(c, key);
    if (v === undefined || v === null) continue;
    const id = readId(v, `contact.${key}`);
    if ("problem" in id) return id;
    contact[name] = id.id;
  }
  const profile = own(c, "profile");
  const name = isObject(profile) ? own(profile, "name") : undefined;
  if (typeof name === "string" && name) contact.profileName = safeText(name, 256);
  // Meta documents the username under profile; some payloads put it next to user_id.
  const username = (isObject(profile) ? own(profile, "username") : undefined) ?? own(c, "username");
  if (typeof username === "string" && username) contact.username = safeText(username, 256);
  const parent = own(c, "parent_user_id");
  if (parent !== undefined && parent !== null) {
    const id = readId(parent, "contact.parent_user_id");
    if ("id" in id) contact.parentUserId = id.id;
  }
  return contact;
}

/**
 * The sender's parent business-scoped user id (one id across the business portfolio's numbers, when
 * the portfolio has them): the contact's `parent_user_id`, else the message's `from_parent_user_id`.
 */
function parentUserIdField(rawMessage: unknown, contact: Contact | undefined): { parentUserId?: string } {
  if (contact?.parentUserId) return { parentUserId: contact.parentUserId };
  const fromMessage = isObject(rawMessage) ? own(rawMessage, "from_parent_user_id") : undefined;
  if (fromMessage === undefined || fromMessage === null) return {};
  const id = readId(fromMessage, "message.from_parent_user_id");
  return "id" in id ? { parentUserId: id.id } : {};
}

/** The sender's contact: the one with the same id, else the only one when it does not name someone else. */
function findContact(contacts: Contact[], waId?: string, userId?: string): Contact | undefined {
  const match = contacts.find((c) => (waId && c.waId === waId) || (userId && c.userId === userId));
  if (match || contacts.length !== 1) return match;
  const only = contacts[0]!;
  const agrees = (!waId || !only.waId || only.waId === waId) && (!userId || !only.userId || only.userId === userId);
  return agrees ? only : undefined;
}

function malformed(
  out: InboundEvent[],
  field: string,
  reason: string,
  raw: unknown,
  location: EventLocation,
  route: Partial<Route> = {},
): void {
  out.push({
    kind: "malformed",
    ...(route.wabaId ? { wabaId: route.wabaId } : {}),
    ...(route.phoneNumberId ? { phoneNumberId: route.phoneNumberId } : {}),
    field,
    reason: safeText(reason, 1000),
    raw: keptRaw(raw),
    location,
  });
}

/** safeRaw, and a marker should it ever fail: recording a bad part must not fail. */
function keptRaw(raw: unknown): unknown {
  try {
    return safeRaw(raw);
  } catch {
    return { "%json": "(could not be kept)", "%truncated": true };
  }
}

/**
 * Runs one part's reading into a buffer and keeps its events only if it finished: a bug here (none
 * is known) turns that part into one `malformed` event instead of losing the delivery.
 */
function guarded(
  out: InboundEvent[],
  field: string,
  raw: unknown,
  location: EventLocation,
  route: Partial<Route>,
  read: (out: InboundEvent[]) => void,
): void {
  const local: InboundEvent[] = [];
  try {
    read(local);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    malformed(out, field, `could not be read: ${message}`, raw, location, route);
    return;
  }
  for (const e of local) out.push(e);
}
