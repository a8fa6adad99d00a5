import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { OutboundRequest } from "./send-request.js";

/**
 * Chat features of a send: interactive messages (reply buttons, lists), a reply to a
 * given message (`context.message_id`) and a reaction to a candidate's message. Meta's limits are
 * checked here, so a request Meta would refuse gets a 400 naming the field instead of a failed send.
 *
 * Meta's limits: reply buttons 1–3, title ≤ 20 characters and unique, id ≤ 256; body ≤ 1,024
 * characters with buttons, ≤ 4,096 with a list; header and footer text ≤ 60; a list's button label
 * ≤ 20, 1–10 sections, at most 10 rows in all, row title ≤ 24, description ≤ 72, id ≤ 200 and unique,
 * a section title ≤ 24 (required when there are several sections).
 */

const text = (max: number) => z.string().trim().min(1).max(max);
const idOf = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^\S(.*\S)?$/, "no leading or trailing spaces");

const buttonSchema = z.strictObject({ id: idOf(256).optional(), title: text(20) });
const rowSchema = z.strictObject({ id: idOf(200).optional(), title: text(24), description: text(72).optional() });
const sectionSchema = z.strictObject({ title: text(24).optional(), rows: z.array(rowSchema).min(1).max(10) });

const unique = (values: string[]) => new Set(values).size === values.length;

/**
 * A WhatsApp Flow (an in-chat form): opened from a CTA button, either at a given first screen with its
 * data (`navigate`) or by asking the business's data-exchange endpoint for it (`data_exchange`).
 * `flowToken` identifies this form's session in the candidate's answer (`nfm_reply`); when absent one
 * is made that names the flow and the first screen (`lj1.<flowId>.<screen>.<nonce>`), so the answer
 * can be stored with them.
 */
const flowSchema = z
  .strictObject({
    type: z.literal("flow"),
    body: text(1024),
    header: text(60).optional(),
    footer: text(60).optional(),
    /** The flow's id (Meta's), or its name (`flowName`). */
    flowId: z
      .string()
      .regex(/^\d{1,32}$/, "a Meta flow id (digits)")
      .optional(),
    flowName: text(200).optional(),
    /** The button that opens the form (Meta: at most 30 characters). */
    cta: text(30),
    action: z.enum(["navigate", "data_exchange"]).default("navigate"),
    /** navigate: the first screen's id; data: the values that screen reads. */
    screen: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,63}$/, "a screen id as Flow JSON spells it (upper case, digits, _)")
      .optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    flowToken: z.string().trim().min(1).max(256).optional(),
    /** `draft` opens an unpublished flow (tests by the recruiter); default published. */
    mode: z.enum(["draft", "published"]).optional(),
  })
  .refine((f) => (f.flowId === undefined) !== (f.flowName === undefined), {
    message: "give exactly one of flowId and flowName",
    path: ["flowId"],
  })
  .refine((f) => f.action !== "navigate" || f.screen !== undefined, {
    message: "a navigate flow needs its first screen",
    path: ["screen"],
  })
  .refine((f) => f.action === "navigate" || (f.screen === undefined && f.data === undefined), {
    message: "a data_exchange flow gets its first screen from the data-exchange endpoint: no screen or data",
    path: ["action"],
  });

/** The token the gateway gives a flow it sends, naming the flow and the first screen. */
export function flowTokenFor(flow: { flowId?: string; flowName?: string; screen?: string }, nonce: string): string {
  return `lj1.${flow.flowId ?? flow.flowName ?? "flow"}.${flow.screen ?? "INIT"}.${nonce}`;
}

/** The flow and first screen a token of ours names; nothing for a token the caller chose. */
export function flowOfToken(token: string): { flowId: string; screen: string } | undefined {
  const m = /^lj1\.([^.]+)\.([A-Z][A-Z0-9_]*)\.[A-Za-z0-9_-]+$/.exec(token);
  return m ? { flowId: m[1]!, screen: m[2]! } : undefined;
}

export const interactiveSchema = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("button"),
      body: text(1024),
      header: text(60).optional(),
      footer: text(60).optional(),
      buttons: z.array(buttonSchema).min(1).max(3),
    }),
    z.strictObject({
      type: z.literal("list"),
      body: text(4096),
      header: text(60).optional(),
      footer: text(60).optional(),
      /** The label of the button that opens the list. */
      button: text(20),
      sections: z.array(sectionSchema).min(1).max(10),
    }),
    flowSchema,
    /**
     * Asks a candidate known only by a user id (a username, phone hidden) to share their phone
     * number: Meta's contact-information request, answered by a `contacts` message whose contact has
     * `origin: "contact_request"` (the inbound worker then links the number to the conversation).
     */
    z.strictObject({ type: z.literal("request_contact_info"), body: text(1024) }),
  ])
  .superRefine((v, ctx) => {
    if (v.type === "flow" || v.type === "request_contact_info") return;
    if (v.type === "button") {
      if (!unique(v.buttons.map((b) => b.title)))
        ctx.addIssue({ code: "custom", path: ["buttons"], message: "button titles must be unique" });
      const ids = v.buttons.flatMap((b) => (b.id ? [b.id] : []));
      if (!unique(ids)) ctx.addIssue({ code: "custom", path: ["buttons"], message: "button ids must be unique" });
      return;
    }
    const rows = v.sections.flatMap((s) => s.rows);
    if (rows.length > 10)
      ctx.addIssue({
        code: "custom",
        path: ["sections"],
        message: `a list has at most 10 rows in all, got ${rows.length}`,
      });
    if (v.sections.length > 1 && v.sections.some((s) => !s.title)) {
      ctx.addIssue({
        code: "custom",
        path: ["sections"],
        message: "every section needs a title when there are several",
      });
    }
    if (!unique(rows.flatMap((r) => (r.id ? [r.id] : []))))
      ctx.addIssue({ code: "custom", path: ["sections"], message: "row ids must be unique" });
  })
  // A flow without a token gets ours when the request is accepted, stored with the message: the
  // estimate and the send use the same one.
  .transform((v) =>
    v.type === "flow" && !v.flowToken ? { ...v, flowToken: flowTokenFor(v, randomBytes(9).toString("base64url")) } : v,
  );
export type InteractiveRequest = z.infer<typeof interactiveSchema>;

/** A reaction to a message of the conversation: our message id or a wamid; an empty emoji removes it. */
export const reactionSchema = z.strictObject({
  messageId: z.string().trim().min(1).max(512),
  emoji: z
    .string()
    .max(16)
    .refine(
      (e) => e === "" || [...new Intl.Segmenter().segment(e)].length === 1,
      "one emoji, or empty to remove the reaction",
    ),
});
export type ReactionRequest = z.infer<typeof reactionSchema>;

/** What a send request may carry on top of OutboundRequest (stored with it in the message). */
export interface ChatFields {
  interactive?: InteractiveRequest | null;
  /** The wamid this message replies to (resolved and checked by the send API). */
  replyToWamid?: string | null;
  /** Our id of the message replied to, when it is ours or stored. */
  replyToMessageId?: string | null;
  /** A reaction: the wamid of the candidate's message and the emoji ("" removes it). */
  reaction?: { wamid: string; messageId: string | null; emoji: string } | null;
}
export type ChatRequest = OutboundRequest & ChatFields;

export const chatFieldsOf = (request: OutboundRequest): ChatFields => request as ChatRequest;

/** The `interactive` object as Meta spells it; rows and buttons without an id get a stable one. */
export function metaInteractive(i: InteractiveRequest, opts: { nonce?: string } = {}) {
  if (i.type === "request_contact_info")
    return { type: "request_contact_info", body: { text: i.body }, action: { name: "request_contact_info" } };
  const header = i.header ? { header: { type: "text", text: i.header } } : {};
  const footer = i.footer ? { footer: { text: i.footer } } : {};
  if (i.type === "flow") {
    return {
      type: "flow",
      ...header,
      body: { text: i.body },
      ...footer,
      action: {
        name: "flow",
        parameters: {
          flow_message_version: "3",
          flow_token: i.flowToken ?? flowTokenFor(i, opts.nonce ?? "0"),
          ...(i.flowId ? { flow_id: i.flowId } : { flow_name: i.flowName }),
          flow_cta: i.cta,
          flow_action: i.action,
          ...(i.mode === "draft" ? { mode: "draft" } : {}),
          ...(i.action === "navigate"
            ? { flow_action_payload: { screen: i.screen, ...(i.data ? { data: i.data } : {}) } }
            : {}),
        },
      },
    };
  }
  if (i.type === "button") {
    return {
      type: "button",
      ...header,
      body: { text: i.body },
      ...footer,
      action: {
        buttons: i.buttons.map((b, n) => ({ type: "reply", reply: { id: b.id ?? `btn_${n + 1}`, title: b.title } })),
      },
    };
  }
  let n = 0;
  return {
    type: "list",
    ...header,
    body: { text: i.body },
    ...footer,
    action: {
      button: i.button,
      sections: i.sections.map((s) => ({
        ...(s.title ? { title: s.title } : {}),
        // A row without an id is numbered by its place in the whole list (1-based).
        rows: s.rows.map((r) => {
          n++;
          return { id: r.id ?? `row_${n}`, title: r.title, ...(r.description ? { description: r.description } : {}) };
        }),
      })),
    },
  };
}

/** The text a conversation shows for an interactive message: its body and its choices. */
export const interactivePreview = (i: InteractiveRequest): string =>
  i.type === "request_contact_info"
    ? `${i.body} [Share phone number]`
    : i.type === "button"
      ? `${i.body} [${i.buttons.map((b) => b.title).join(" / ")}]`
      : i.type === "flow"
        ? `${i.body} [${i.cta}]`
        : `${i.body} [${i.button}]`;
