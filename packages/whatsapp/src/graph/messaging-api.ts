import { graphPath, type GraphClient } from "./graph-client.js";
import { GraphResponseError } from "./graph-errors.js";

/**
 * The Graph API calls that send messages: POST /{phone-number-id}/messages.
 * `bizOpaqueCallbackData` (our message id) comes back in every status webhook, which is how a send
 * whose answer was lost is still recognised.
 */

export interface SendCommon {
  phoneNumberId: string;
  /** Digits with country code (normalised before storing). */
  to?: string | null;
  /** A business-scoped user id (`MA.1234…`), used when `to` is absent; an unknown one fails with 131062. */
  recipient?: string | null;
  token: string;
  /** Echoed in status webhooks; up to 512 characters. */
  bizOpaqueCallbackData?: string;
  /** wamid of the message this one replies to. */
  replyTo?: string;
  /** Per-call limit for Meta's answer (ms). */
  timeoutMs?: number;
}

export interface TemplateParameter {
  type: "text";
  text: string;
  /** Named-variable templates only. */
  parameter_name?: string;
}

export interface TemplateSend {
  name: string;
  language: string;
  /** Variables of the header (text header) and the body, in order. */
  headerParams?: TemplateParameter[];
  bodyParams?: TemplateParameter[];
  /** Extra components as Meta spells them (buttons…), passed through. */
  components?: unknown[];
}

export type OutboundMediaKind = "image" | "video" | "audio" | "document" | "sticker";
export interface MediaSend {
  kind: OutboundMediaKind;
  /** An uploaded media id, or a public link. */
  id?: string;
  link?: string;
  caption?: string;
  filename?: string;
}

export interface SendResult {
  wamid: string;
  /** `wa_id` Meta resolved the number to, when it says. */
  waId: string | null;
  messageStatus: string | null;
}

interface SendResponse {
  contacts?: Array<{ input?: string; wa_id?: string }>;
  messages?: Array<{ id?: string; message_status?: string }>;
}

function envelope(c: SendCommon, type: string, payload: unknown) {
  return {
    messaging_product: "whatsapp",
    recipient_type: "individual",
    // Meta: with both, `to` wins; a user id goes only when no phone is known.
    ...(c.to ? { to: c.to } : { recipient: c.recipient }),
    type,
    [type]: payload,
    ...(c.replyTo ? { context: { message_id: c.replyTo } } : {}),
    ...(c.bizOpaqueCallbackData ? { biz_opaque_callback_data: c.bizOpaqueCallbackData.slice(0, 512) } : {}),
  };
}

async function postMessage(graph: GraphClient, c: SendCommon, body: unknown): Promise<SendResult> {
  const what = `POST ${c.phoneNumberId}/messages`;
  const res = await graph.post<SendResponse>(graphPath(c.phoneNumberId, "messages"), {
    token: c.token,
    json: body,
    ...(c.timeoutMs ? { headersTimeoutMs: c.timeoutMs, bodyTimeoutMs: c.timeoutMs } : {}),
  });
  const wamid = res?.messages?.[0]?.id;
  // 200 without a message id is not an acceptance we can track: treat it as unreadable.
  if (typeof wamid !== "string" || !wamid)
    throw new GraphResponseError("the send answered without messages[0].id", what, 200);
  return { wamid, waId: res.contacts?.[0]?.wa_id ?? null, messageStatus: res.messages?.[0]?.message_status ?? null };
}

/** Free-form text; only inside the 24-hour window (else Meta answers 131047). Max 4096 characters. */
export function sendText(
  graph: GraphClient,
  c: SendCommon & { body: string; previewUrl?: boolean },
): Promise<SendResult> {
  return postMessage(graph, c, envelope(c, "text", { body: c.body, ...(c.previewUrl ? { preview_url: true } : {}) }));
}

/** The `template` object of a send: language with the deterministic policy, header/body parameters. */
export function templatePayload(t: TemplateSend) {
  const components: unknown[] = [];
  if (t.headerParams?.length) components.push({ type: "header", parameters: t.headerParams });
  if (t.bodyParams?.length) components.push({ type: "body", parameters: t.bodyParams });
  if (t.components?.length) components.push(...t.components);
  return {
    name: t.name,
    language: { code: t.language, policy: "deterministic" },
    ...(components.length ? { components } : {}),
  };
}

export function sendTemplate(graph: GraphClient, c: SendCommon & { template: TemplateSend }): Promise<SendResult> {
  return postMessage(graph, c, envelope(c, "template", templatePayload(c.template)));
}

export function sendMedia(graph: GraphClient, c: SendCommon & { media: MediaSend }): Promise<SendResult> {
  const m = c.media;
  const payload = {
    ...(m.id ? { id: m.id } : { link: m.link }),
    ...(m.caption && m.kind !== "audio" && m.kind !== "sticker" ? { caption: m.caption } : {}),
    ...(m.filename && m.kind === "document" ? { filename: m.filename } : {}),
  };
  return postMessage(graph, c, envelope(c, m.kind, payload));
}

/**
 * Marks an inbound message as read (blue ticks; earlier messages of the chat with it). With `typing`,
 * also shows the typing indicator for up to 25 s or until our next message.
 */
export async function markAsRead(
  graph: GraphClient,
  input: { phoneNumberId: string; token: string; wamid: string; typing?: boolean; timeoutMs?: number },
): Promise<void> {
  await graph.post(graphPath(input.phoneNumberId, "messages"), {
    token: input.token,
    json: {
      messaging_product: "whatsapp",
      status: "read",
      message_id: input.wamid,
      ...(input.typing ? { typing_indicator: { type: "text" } } : {}),
    },
    ...(input.timeoutMs ? { headersTimeoutMs: input.timeoutMs, bodyTimeoutMs: input.timeoutMs } : {}),
  });
}

/** A reaction to a received message; an empty emoji removes our reaction. */
export function sendReaction(
  graph: GraphClient,
  c: SendCommon & { messageWamid: string; emoji: string },
): Promise<SendResult> {
  // A reaction names its message itself; it never carries a reply context.
  const { replyTo: _replyTo, ...common } = c;
  return postMessage(graph, common, envelope(common, "reaction", { message_id: c.messageWamid, emoji: c.emoji }));
}

/** An interactive message (reply buttons or a list), as Meta spells the `interactive` object. */
export function sendInteractive(graph: GraphClient, c: SendCommon & { interactive: unknown }): Promise<SendResult> {
  return postMessage(graph, c, envelope(c, "interactive", c.interactive));
}
