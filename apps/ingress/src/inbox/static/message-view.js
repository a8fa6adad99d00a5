// @ts-check
// One message of the thread as the recruiter sees it: its content by type (Meta's shapes), a
// template filled with its variables, the reply it quotes, delivery ticks, why it failed, and the
// reply and react buttons.

import { el, textNode } from "./dom.js";
import { fillTemplate, money, timeOf } from "./format.js";
import { renderMedia } from "./media.js";
import { state } from "./state.js";

/** @typedef {import("./types.js").Message} Message */
/** @typedef {import("./dom.js").Child} Child */

/**
 * A message's `content` (Meta's object for its type; an array of cards for `contacts`): the fields
 * the page shows.
 * @typedef {object} Content
 * @property {string} [body]
 * @property {string} [caption]
 * @property {string} [text]
 * @property {string} [payload]
 * @property {string} [emoji]
 * @property {string} [message_id]
 * @property {number} [latitude]
 * @property {number} [longitude]
 * @property {string} [name]
 * @property {string} [address]
 * @property {string} [filename]
 * @property {string} [mime_type]
 * @property {boolean} [voice]
 * @property {{ title?: string }} [button_reply]
 * @property {{ title?: string }} [list_reply]
 * @property {{ body?: string }} [nfm_reply]
 * @property {{ screen?: string, answers?: Record<string, unknown> }} [flow]
 * @property {Array<{ quantity: number, product_retailer_id: string, item_price: number, currency: string }>} [product_items]
 */
/** @typedef {{ origin?: string, name?: { formatted_name?: string }, phones?: Array<{ phone?: string }> }} ContactCard */
/** @typedef {{ code?: number | string, title?: string, message?: string, details?: string, error_data?: { details?: string } }} ErrorInfo */

/**
 * What the buttons of a message do (the composer's).
 * @typedef {{ reply(m: Message): void, react(m: Message, emoji: string): void }} MessageActions
 */

const REACTIONS = ["👍", "❤️", "😂", "😮", "🙏"];

/** @type {Record<string, [string, string]>} */
const TICKS = {
  queued: ["🕓", "queued"],
  sending: ["🕓", "sending"],
  held: ["⏸", "held until WhatsApp is reconnected"],
  sent: ["✓", "sent"],
  delivered: ["✓✓", "delivered"],
  read: ["✓✓", "read"],
  played: ["✓✓", "played"],
  failed: ["⚠", "failed"],
  suppressed: ["⛔", "not sent: the candidate opted out"],
};

/** @param {Message} m */
function ticks(m) {
  const s = m.status;
  const [glyph, label] = TICKS[s] ?? ["", s];
  return el("span", { class: "ticks", "data-status": s, title: label, "aria-label": label, text: glyph });
}

/** @param {Message} m */
function errorText(m) {
  const e = /** @type {ErrorInfo} */ (m.error ?? {});
  const parts = [
    e.title,
    e.message && e.message !== e.title ? e.message : null,
    e.details ?? e.error_data?.details,
  ].filter(Boolean);
  const reason = parts.join(" — ") || m.reason || "no reason given";
  const what = m.status === "held" ? "Held" : m.status === "suppressed" ? "Not sent" : "Failed";
  return `${what}: ${reason}${e.code ? ` (code ${e.code})` : ""}`;
}

/**
 * A candidate's reaction names its message in content; ours in the send request.
 * @param {Message} m
 * @returns {{ target: string | undefined, emoji: string } | null}
 */
export function reactionOf(m) {
  if (m.type !== "reaction") return null;
  const c = /** @type {Content | null} */ (m.content);
  return {
    target: c?.message_id ?? m.request?.reaction?.wamid,
    emoji: c?.emoji ?? m.request?.reaction?.emoji ?? "",
  };
}

/**
 * @param {Message} m
 * @param {string | undefined} reaction the emoji the message got, if any
 * @param {MessageActions} actions
 */
export function renderMessage(m, reaction, actions) {
  const outbound = m.direction === "outbound";
  /** @type {Child[]} */
  const body = [];
  if (outbound && (m.kind === "template" || m.type === "template")) {
    const t = m.template;
    body.push(
      el("div", {
        class: "msg-kind",
        text: `Template ${t?.name ?? m.request?.templateName ?? "application_received"}${m.cost !== undefined ? ` · ${money(m.cost)}` : ""}`,
      }),
    );
    const vars =
      t?.vars ??
      m.request?.templateVars ??
      /** @type {string[]} */ ([m.request?.candidateName, m.request?.jobTitle].filter(Boolean));
    const known = state.templateBodies.get(t?.name ?? m.request?.templateName ?? "application_received");
    const filled = known ? fillTemplate(known, vars) : null;
    const header = m.request?.templateHeader;
    if (header && header.type !== "text")
      body.push(textNode("div", `${header.type} header · ${header.link ?? `media ${header.id}`}`, "msg-header"));
    body.push(
      textNode("p", m.text ?? filled ?? (vars.length ? `Variables: ${vars.join(" · ")}` : "(template)"), "msg-text"),
    );
  } else {
    body.push(...renderContent(m));
  }
  const quoted = repliedTo(m);
  if (quoted) body.unshift(textNode("div", `↪ reply to: ${quoted}`, "msg-reply-to"));
  const foot = el(
    "div",
    { class: "msg-foot" },
    m.source === "app_echo" ? el("span", { class: "msg-source", text: "from the WhatsApp Business app" }) : null,
    el("time", { datetime: m.timestamp, text: timeOf(m.timestamp) }),
    outbound ? ticks(m) : null,
  );
  return el(
    "li",
    {
      class: `msg${m.type === "system" ? " msg-system" : ""}`,
      "data-id": m.id,
      "data-direction": m.direction,
      "data-type": m.type,
      "data-kind": m.kind ?? "",
      "data-status": m.status,
      "data-has-reaction": reaction ? "true" : "false",
    },
    ...body,
    (m.status === "failed" || m.status === "held" || m.status === "suppressed") && outbound
      ? textNode("p", errorText(m), "msg-error")
      : null,
    foot,
    messageActions(m, actions),
    el("span", {
      class: "msg-reactions",
      "aria-label": reaction ? `reaction ${reaction}` : null,
      text: reaction ?? "",
    }),
  );
}

/**
 * A short text of a message, for "reply to" lines.
 * @param {Message} m
 * @returns {string}
 */
export function summaryOf(m) {
  const c = /** @type {Content | null} */ (m.content);
  const direct = m.request?.interactive?.body ?? m.text ?? c?.body ?? c?.caption;
  if (direct) return direct;
  // A template (a quick-reply button answers one): its body filled with the variables, else its name.
  const name = m.template?.name ?? m.request?.templateName;
  const known = name ? state.templateBodies.get(name) : null;
  if (known) return fillTemplate(known, m.template?.vars ?? m.request?.templateVars ?? []);
  return name ? `template ${name}` : `[${m.type}]`;
}

/**
 * What a message replies to: the candidate's context.id, or the message our send named.
 * @param {Message} m
 */
function repliedTo(m) {
  const wamid = /** @type {{ id?: string } | null | undefined} */ (m.context)?.id ?? m.request?.replyToWamid;
  if (!wamid) return null;
  const q = state.byWamid.get(wamid);
  return q ? summaryOf(q) : "an earlier message";
}

/**
 * Reply and react buttons of a message WhatsApp knows (it has a wamid).
 * @param {Message} m
 * @param {MessageActions} actions
 */
function messageActions(m, actions) {
  if (!m.wamid || m.type === "reaction" || m.type === "system") return null;
  const open = state.pickerFor === m.id;
  const picker = el(
    "div",
    { class: "reaction-picker", role: "group", "aria-label": "Choose a reaction", hidden: !open },
    REACTIONS.map((e) =>
      el("button", {
        type: "button",
        class: "btn btn-small",
        "aria-label": `React ${e}`,
        text: e,
        onclick: () => actions.react(m, e),
      }),
    ),
    el("button", {
      type: "button",
      class: "btn btn-small",
      text: "Remove",
      "aria-label": "Remove my reaction",
      onclick: () => actions.react(m, ""),
    }),
  );
  const toggle = el("button", {
    type: "button",
    class: "btn btn-small",
    text: "React",
    "aria-expanded": String(open),
    "aria-label": "React to this message",
    onclick: () => {
      // Remembered in the state: a live update that re-renders the thread keeps the picker open.
      picker.hidden = !picker.hidden;
      state.pickerFor = picker.hidden ? null : m.id;
      toggle.setAttribute("aria-expanded", String(!picker.hidden));
    },
  });
  return el(
    "div",
    { class: "msg-actions-wrap" },
    el(
      "div",
      { class: "msg-actions" },
      el("button", {
        type: "button",
        class: "btn btn-small",
        text: "Reply",
        "aria-label": "Reply to this message",
        onclick: () => actions.reply(m),
      }),
      m.direction === "inbound" ? toggle : null,
    ),
    m.direction === "inbound" ? picker : null,
  );
}

/**
 * A candidate's completed form (a WhatsApp Flow): each answer as a labelled row, lists joined.
 * @param {{ screen?: string, answers: Record<string, unknown> }} flow
 */
function renderFlowAnswers(flow) {
  /** @param {string} key */
  const label = (key) => key.replace(/[_.]+/g, " ").replace(/^./, (ch) => ch.toUpperCase());
  /** @param {unknown} v */
  const value = (v) =>
    Array.isArray(v)
      ? v.join(", ")
      : v !== null && typeof v === "object"
        ? JSON.stringify(v)
        : String(/** @type {string | number | boolean | undefined} */ (v) ?? "");
  return [
    el("div", { class: "msg-kind", text: `Form answers${flow.screen ? ` · ${flow.screen}` : ""}` }),
    el(
      "dl",
      { class: "flow-answers", "aria-label": "Form answers" },
      Object.entries(flow.answers).flatMap(([k, v]) => [textNode("dt", label(k)), textNode("dd", value(v))]),
    ),
  ];
}

/**
 * Our reply buttons or list, a form or a phone-number request: the question and its choices.
 * @param {Message} m
 * @returns {Child[]}
 */
function renderOutboundInteractive(m) {
  const i = m.request?.interactive ?? {};
  if (i.type === "request_contact_info")
    return [
      el("div", { class: "msg-kind", text: "Phone number request" }),
      textNode("p", i.body ?? m.text, "msg-text"),
    ];
  if (i.type === "flow")
    return [
      el("div", { class: "msg-kind", text: `Form · ${i.cta ?? ""}` }),
      textNode("p", i.body ?? m.text, "msg-text"),
    ];
  const choices =
    i.type === "list"
      ? (i.sections ?? []).flatMap((s) => (s.rows ?? []).map((r) => r.title))
      : (i.buttons ?? []).map((b) => b.title);
  return [
    el("div", { class: "msg-kind", text: i.type === "list" ? `List · ${i.button ?? ""}` : "Buttons" }),
    textNode("p", i.body ?? m.text, "msg-text"),
    el(
      "ul",
      { class: "msg-choices", "aria-label": "Choices offered" },
      choices.map((t) => textNode("li", t)),
    ),
  ];
}

/**
 * @param {Message} m
 * @returns {Child[]}
 */
function renderContent(m) {
  const c = /** @type {Content} */ (m.content ?? {});
  switch (m.type) {
    case "text":
      return [textNode("p", c.body ?? m.text, "msg-text")];
    case "image":
    case "sticker":
    case "video":
    case "audio":
    case "document":
      return [renderMedia(m, c), c.caption ? textNode("p", c.caption, "msg-text") : null];
    case "location": {
      const href = `https://www.openstreetmap.org/?mlat=${c.latitude}&mlon=${c.longitude}#map=16/${c.latitude}/${c.longitude}`;
      return [
        el("div", { class: "msg-kind", text: "Location" }),
        c.name ? textNode("p", c.name, "msg-text") : null,
        c.address ? textNode("p", c.address, "msg-text muted") : null,
        el("a", { href, target: "_blank", rel: "noopener noreferrer", text: `${c.latitude}, ${c.longitude}` }),
      ];
    }
    case "contacts": {
      const cards = /** @type {ContactCard[]} */ (Array.isArray(c) ? c : []);
      return [
        el("div", {
          class: "msg-kind",
          text: cards[0]?.origin === "contact_request" ? "Shared their phone number" : "Contact card",
        }),
        el(
          "ul",
          { class: "card-list" },
          cards.map((card) =>
            el(
              "li",
              {},
              textNode("strong", card?.name?.formatted_name ?? "contact"),
              " ",
              (card?.phones ?? []).map((p) => p.phone).join(", "),
            ),
          ),
        ),
      ];
    }
    case "interactive": {
      if (m.direction === "outbound") return renderOutboundInteractive(m);
      if (c.flow?.answers && typeof c.flow.answers === "object")
        return renderFlowAnswers({ ...c.flow, answers: c.flow.answers });
      const title = c.button_reply?.title ?? c.list_reply?.title ?? c.nfm_reply?.body ?? "form reply";
      const kind = c.nfm_reply ? "Form reply" : c.list_reply ? "List reply" : "Button reply";
      return [el("div", { class: "msg-kind", text: kind }), textNode("p", title, "msg-text")];
    }
    case "button":
      return [
        el("div", { class: "msg-kind", text: "Quick reply to a template" }),
        textNode("p", c.text ?? c.payload, "msg-text"),
      ];
    case "reaction":
      return [textNode("p", c.emoji ? `Reacted ${c.emoji} to a message` : "Removed a reaction", "msg-text")];
    case "order": {
      const items = c.product_items ?? [];
      return [
        el("div", { class: "msg-kind", text: `Order · ${items.length} item(s)` }),
        c.text ? textNode("p", c.text, "msg-text") : null,
        el(
          "ul",
          { class: "card-list" },
          items.map((i) =>
            el("li", { text: `${i.quantity} × ${i.product_retailer_id} — ${i.item_price} ${i.currency}` }),
          ),
        ),
      ];
    }
    case "system":
      return [textNode("p", c.body ?? m.text ?? "System notice", "msg-text")];
    case "request_welcome":
      return [textNode("p", "The candidate opened the chat", "msg-text muted")];
    case "media": {
      // An image or document the recruiter sent (outbound kind "media"): what and its caption.
      const md = m.request?.media ?? {};
      const what = md.type === "document" ? `Document${md.filename ? ` · ${md.filename}` : ""}` : "Image";
      return [el("div", { class: "msg-kind", text: what }), ...(m.text ? [textNode("p", m.text, "msg-text")] : [])];
    }
    default: {
      const errors = /** @type {ErrorInfo[] | null | undefined} */ (m.errors);
      const why =
        Array.isArray(errors) && errors[0]
          ? `${errors[0].title ?? ""} (${errors[0].code ?? ""})`
          : (m.originalType ?? m.type);
      return [
        el("div", { class: "msg-kind", text: "Unsupported message" }),
        textNode("p", `WhatsApp could not show this message: ${why}`, "msg-text muted"),
      ];
    }
  }
}
