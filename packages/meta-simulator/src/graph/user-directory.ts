import { userIdForPhone } from "../webhooks/user-ids.js";

/**
 * The WhatsApp users the simulated Meta knows, learnt from the webhooks it delivers (every inbound
 * message, contact and identity change passes through it) or told by a test
 * (POST /_sim/messaging/windows): each user's phone number and business-scoped user id, and when they
 * last wrote to each business number. The customer service window (24 h since the user's last
 * message to that number; outside it Meta takes only templates) and the recipient checks of sends
 * are read here.
 */

export const WINDOW_MS = 24 * 3_600_000;
/** A chat opened from a click-to-WhatsApp ad is a free entry point for 72 hours. */
export const ENTRY_POINT_MS = 72 * 3_600_000;

export interface SimUser {
  waId?: string;
  userId?: string;
  /** phone_number_id → Meta's timestamp (ms) of the user's last message to that number. */
  lastInboundAt: Map<string, number>;
  /** phone_number_id → end (ms) of a free entry-point window opened from an ad. */
  entryPointUntil: Map<string, number>;
}

export interface UserDirectory {
  byWaId: Map<string, SimUser>;
  byUserId: Map<string, SimUser>;
}

export const newUserDirectory = (): UserDirectory => ({ byWaId: new Map(), byUserId: new Map() });

const digitsOf = (phone: string) => phone.replace(/\D/g, "");

/** The user known by this phone number or user id (phone first, as Meta: `to` wins over `recipient`). */
export function findUser(
  dir: UserDirectory,
  ids: { waId?: string | undefined; userId?: string | undefined },
): SimUser | undefined {
  return (
    (ids.waId ? dir.byWaId.get(digitsOf(ids.waId)) : undefined) ??
    (ids.userId ? dir.byUserId.get(ids.userId) : undefined)
  );
}

/** Records that a phone number and a user id are one user (merging two records when they were apart). */
export function linkUser(
  dir: UserDirectory,
  ids: { waId?: string | undefined; userId?: string | undefined },
): SimUser | undefined {
  const waId = ids.waId ? digitsOf(ids.waId) : undefined;
  const userId = ids.userId || undefined;
  if (!waId && !userId) return undefined;
  const byPhone = waId ? dir.byWaId.get(waId) : undefined;
  const byId = userId ? dir.byUserId.get(userId) : undefined;
  const user = byPhone ?? byId ?? { lastInboundAt: new Map(), entryPointUntil: new Map() };
  if (byPhone && byId && byPhone !== byId) mergeInto(dir, user, byId);
  if (waId) setPhone(dir, user, waId);
  if (userId) setUserId(dir, user, userId);
  return user;
}

function mergeInto(dir: UserDirectory, into: SimUser, other: SimUser) {
  for (const [n, at] of other.lastInboundAt) into.lastInboundAt.set(n, Math.max(at, into.lastInboundAt.get(n) ?? 0));
  for (const [n, until] of other.entryPointUntil)
    into.entryPointUntil.set(n, Math.max(until, into.entryPointUntil.get(n) ?? 0));
  if (other.waId && dir.byWaId.get(other.waId) === other) dir.byWaId.delete(other.waId);
  if (other.userId && dir.byUserId.get(other.userId) === other) dir.byUserId.delete(other.userId);
  if (!into.waId && other.waId) setPhone(dir, into, other.waId);
  if (!into.userId && other.userId) setUserId(dir, into, other.userId);
}

/** The user's phone number becomes `waId` (a changed number: the old one no longer reaches them). */
function setPhone(dir: UserDirectory, user: SimUser, waId: string) {
  if (user.waId && user.waId !== waId && dir.byWaId.get(user.waId) === user) dir.byWaId.delete(user.waId);
  user.waId = waId;
  dir.byWaId.set(waId, user);
}

/** The user's id becomes `userId` (a changed id: the old one no longer reaches them). */
function setUserId(dir: UserDirectory, user: SimUser, userId: string) {
  if (user.userId && user.userId !== userId && dir.byUserId.get(user.userId) === user) dir.byUserId.delete(user.userId);
  user.userId = userId;
  dir.byUserId.set(userId, user);
}

/** The user wrote to `phoneNumberId` at `atMs` (Meta's timestamp); `fromAd` opens a free entry point. */
export function recordInbound(
  dir: UserDirectory,
  phoneNumberId: string,
  ids: { waId?: string; userId?: string },
  atMs: number,
  fromAd = false,
): SimUser | undefined {
  const user = linkUser(dir, ids);
  if (!user) return undefined;
  user.lastInboundAt.set(phoneNumberId, Math.max(atMs, user.lastInboundAt.get(phoneNumberId) ?? 0));
  if (fromAd)
    user.entryPointUntil.set(
      phoneNumberId,
      Math.max(atMs + ENTRY_POINT_MS, user.entryPointUntil.get(phoneNumberId) ?? 0),
    );
  return user;
}

/** Whether the user's customer service window with this number is open at `now`. */
export function windowOpen(user: SimUser | undefined, phoneNumberId: string, now = Date.now()): boolean {
  const last = user?.lastInboundAt.get(phoneNumberId);
  // A message written after `now` opens no window before it was written.
  return last !== undefined && last <= now && now - last < WINDOW_MS;
}

export function inEntryPoint(user: SimUser | undefined, phoneNumberId: string, now = Date.now()): boolean {
  return (user?.entryPointUntil.get(phoneNumberId) ?? 0) > now;
}

/** The user id Meta would report for a recipient: the known one, else the simulator's id for the phone. */
export function userIdFor(user: SimUser | undefined, waId: string | undefined): string | undefined {
  return user?.userId ?? (waId ? userIdForPhone(digitsOf(waId)) : undefined);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);

/**
 * Learns from a webhook payload the simulator is about to deliver: contacts link phone numbers to
 * user ids, every user message (not `system`) opens or renews that user's window with the business
 * number, identity changes move the user to the new number or id. Anything else is ignored.
 */
export function learnFromDelivery(dir: UserDirectory, payload: unknown): void {
  if (!isObject(payload) || !Array.isArray(payload.entry)) return;
  for (const entry of payload.entry) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue;
    for (const change of entry.changes) {
      if (!isObject(change) || change.field !== "messages" || !isObject(change.value)) continue;
      const value = change.value;
      const phoneNumberId = isObject(value.metadata) ? str(value.metadata.phone_number_id) : undefined;
      if (!phoneNumberId) continue;
      for (const c of Array.isArray(value.contacts) ? value.contacts : []) {
        if (isObject(c)) linkUser(dir, { waId: str(c.wa_id), userId: str(c.user_id) });
      }
      for (const m of Array.isArray(value.messages) ? value.messages : []) {
        if (!isObject(m)) continue;
        const ids = { waId: str(m.from), userId: str(m.from_user_id) };
        if (m.type === "system" && isObject(m.system)) {
          learnIdentityChange(dir, ids, m.system);
          continue;
        }
        const seconds = Number(m.timestamp);
        if (!Number.isFinite(seconds)) continue;
        recordInbound(dir, phoneNumberId, ids, seconds * 1000, isObject(m.referral));
        // The answer to a contact-information request: the user's own number, now theirs to Meta too.
        const shared: unknown =
          m.type === "contacts" && Array.isArray(m.contacts) ? (m.contacts as unknown[])[0] : undefined;
        if (ids.userId && isObject(shared) && shared.origin === "contact_request" && Array.isArray(shared.phones)) {
          const phone: unknown = (shared.phones as unknown[])[0];
          const waId = isObject(phone) ? (str(phone.wa_id) ?? str(phone.phone)) : undefined;
          if (waId) linkUser(dir, { waId, userId: ids.userId });
        }
      }
    }
  }
}

function learnIdentityChange(
  dir: UserDirectory,
  from: { waId?: string | undefined; userId?: string | undefined },
  system: Json,
) {
  const type = system.type;
  if (type === "user_changed_user_id") {
    const previous = str(system.previous_user_id) ?? from.userId;
    const user =
      findUser(dir, { userId: previous, waId: from.waId ?? str(system.wa_id) }) ??
      linkUser(dir, { waId: from.waId, userId: previous });
    const next = str(system.user_id);
    if (user && next) {
      const other = dir.byUserId.get(next);
      if (other && other !== user) mergeInto(dir, user, other);
      setUserId(dir, user, next);
    }
  } else if (type === "user_changed_number" || type === "customer_changed_number") {
    const user = findUser(dir, from) ?? linkUser(dir, from);
    const next = type === "user_changed_number" ? str(system.wa_id) : str(system.new_wa_id);
    if (user && next) {
      const other = dir.byWaId.get(digitsOf(next));
      if (other && other !== user) mergeInto(dir, user, other);
      setPhone(dir, user, digitsOf(next));
    }
    // The user id is regenerated with the number (user_id beside previous_user_id): the person is
    // reached by the new one only; a payload with the same id (before August 2026) keeps it.
    const userId = str(system.user_id);
    if (user && userId && userId !== user.userId) {
      const other = dir.byUserId.get(userId);
      if (other && other !== user) mergeInto(dir, user, other);
      setUserId(dir, user, userId);
    }
  }
}
