import {
  adReferral,
  buttonReplyContent,
  contactsContent,
  flowReplyContent,
  forwardedContext,
  inboundMessage,
  listReplyContent,
  locationContent,
  mediaContent,
  newWamid,
  orderContent,
  reactionContent,
  replyContext,
  systemContent,
  textContent,
  unsupportedReasons,
  userChangedNumberMessage,
  userIdOf,
  type Candidate,
  type InboundMessageObject,
  type MediaKind,
  type MessageExtra,
} from "../payloads.js";
import { newUserId } from "../user-ids.js";
import type { CandidateReply } from "./candidate-reply.schema.js";
import { mediaTypes } from "./schemas.js";

/**
 * The message a candidate's reply body describes (POST /_sim/candidates/reply), in Meta's shape:
 * one builder per message type, each reading its type's field (the schema has required it).
 */

/** What every type's builder is given besides the body. */
interface Sending {
  candidate: Candidate;
  extra: MessageExtra;
  /** The business number's display form: who a reply's context names by default. */
  businessNumber: string;
}

type Build = (b: CandidateReply, s: Sending) => InboundMessageObject;

/** A contact card when the body gives none. */
const SAMPLE_CONTACT = {
  formattedName: "Karim El Idrissi",
  phones: [{ phone: "+212 6 61 23 45 67", waId: "212661234567" }],
};

const media: Build = (b, { candidate, extra }) => {
  const caption = b.media?.caption ?? b.text;
  const content = mediaContent(b.type as MediaKind, { ...b.media, ...(caption !== undefined ? { caption } : {}) });
  return inboundMessage(candidate, b.type, content, extra);
};

const BUILDERS: Record<string, Build> = {
  text: (b, { candidate, extra }) => inboundMessage(candidate, b.type, textContent(b.text!), extra),
  ...Object.fromEntries(mediaTypes.map((t) => [t, media])),
  location: (b, { candidate, extra }) => inboundMessage(candidate, b.type, locationContent(b.location!), extra),
  contacts: (b, { candidate, extra }) =>
    inboundMessage(candidate, b.type, contactsContent(b.contacts ?? [SAMPLE_CONTACT]), extra),
  interactive: (b, { candidate, extra }) => {
    const i = b.interactive!;
    const content =
      i.type === "button_reply"
        ? buttonReplyContent(i.id, i.title)
        : i.type === "list_reply"
          ? listReplyContent(i.id, i.title, i.description)
          : flowReplyContent(i.response ?? {}, {
              ...(i.body ? { body: i.body } : {}),
              ...(i.name ? { name: i.name } : {}),
            });
    return inboundMessage(candidate, b.type, content, extra);
  },
  button: (b, { candidate, extra, businessNumber }) => {
    const btn = b.button!;
    // A quick-reply tap always names the template message it answers.
    const templateWamid = btn.templateWamid ?? b.context?.id ?? newWamid();
    return inboundMessage(
      candidate,
      b.type,
      { text: btn.text, payload: btn.payload ?? btn.text },
      { ...extra, context: replyContext(templateWamid, businessNumber) },
    );
  },
  reaction: (b, { candidate, extra }) =>
    inboundMessage(candidate, b.type, reactionContent(b.reaction!.messageId, b.reaction!.emoji), extra),
  order: (b, { candidate, extra }) => inboundMessage(candidate, b.type, orderContent(b.order ?? {}), extra),
  system: (b, { candidate, extra }) => systemMessage(candidate, b.system ?? {}, extra),
  request_welcome: (b, { candidate, extra }) => inboundMessage(candidate, b.type, undefined, extra),
  unsupported: (b, { candidate, extra }) =>
    inboundMessage(
      candidate,
      b.type,
      { type: b.unsupported?.type ?? "unknown" },
      { errors: [unsupportedReasons[b.unsupported?.reason ?? "unknownType"]()], ...extra },
    ),
};

/** A type this simulator has no builder for (an "unknown future type"): `payload` sent under its key. */
const unknownType: Build = (b, { candidate, extra }) => inboundMessage(candidate, b.type, b.payload ?? {}, extra);

/** The candidate (ids, profile) and the message of a reply body. */
export function buildCandidateMessage(b: CandidateReply, businessNumber: string) {
  const candidate: Candidate = {
    ...(b.from ? { waId: b.from } : {}),
    ...(b.userId !== undefined ? { userId: b.userId } : {}),
    ...(b.name ? { name: b.name } : {}),
    ...(b.username ? { username: b.username } : {}),
    ...(b.parentUserId ? { parentUserId: b.parentUserId } : {}),
  };
  const context = b.context
    ? b.context.id
      ? replyContext(b.context.id, b.context.from ?? businessNumber)
      : forwardedContext(Boolean(b.context.frequentlyForwarded))
    : undefined;
  const extra: MessageExtra = {
    ...(b.id ? { id: b.id } : {}),
    ...(b.timestamp ? { timestamp: b.timestamp } : {}),
    ...(context ? { context } : {}),
    ...(b.referral ? { referral: adReferral(b.referral === true ? {} : b.referral) } : {}),
  };
  const build = Object.hasOwn(BUILDERS, b.type) ? BUILDERS[b.type]! : unknownType;
  return { candidate, message: build(b, { candidate, extra, businessNumber }) };
}

/** A `system` message in the 2026 shapes, or an older/other type with the fields given. */
function systemMessage(c: Candidate, sys: NonNullable<CandidateReply["system"]>, extra: MessageExtra) {
  const type = sys.type ?? "user_changed_number";
  const body = sys.body !== undefined ? { body: sys.body } : {};
  if (type === "user_changed_number" && c.waId) {
    const m = userChangedNumberMessage({ ...c, waId: c.waId }, sys.newWaId!, extra);
    if (sys.body !== undefined) (m.system as { body: string }).body = sys.body;
    return m;
  }
  if (type === "user_changed_user_id") {
    const previous = sys.previousUserId ?? userIdOf(c) ?? newUserId();
    return inboundMessage(
      { userId: previous, ...(sys.waId ? { waId: sys.waId } : {}) },
      "system",
      systemContent({
        type,
        previousUserId: previous,
        userId: sys.newUserId!,
        ...(sys.waId ? { waId: sys.waId } : {}),
        ...(c.name ? { name: c.name } : {}),
        ...body,
      }),
      extra,
    );
  }
  if (type === "customer_changed_number") {
    return inboundMessage(
      c,
      "system",
      systemContent({
        type,
        ...(c.waId ? { waId: c.waId } : {}),
        ...(sys.newWaId ? { newWaId: sys.newWaId } : {}),
        ...(c.name ? { name: c.name } : {}),
        ...body,
      }),
      extra,
    );
  }
  const { newWaId, newUserId: next, previousUserId, ...rest } = sys;
  return inboundMessage(
    c,
    "system",
    systemContent({
      ...rest,
      type,
      ...(newWaId ? { newWaId } : {}),
      ...(next ? { userId: next } : {}),
      ...(previousUserId ? { previousUserId } : {}),
    }),
    extra,
  );
}
