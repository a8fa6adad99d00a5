import { z } from "zod";
import { SERVER_EVENT_SCHEMAS, type ServerToClientEvents } from "./contract.js";
import { EVENTS } from "./events.js";
import { EVENT_EXAMPLES } from "./examples.js";
import { SOCKET_EVENTS, SOCKET_REFUSAL_CODES, refreshAckSchema, refreshRequestSchema } from "./session.js";

/** What each server → client event means, for the AsyncAPI document and the docs page. */
export const EVENT_DESCRIPTIONS: {
  [E in keyof ServerToClientEvents]: { key: string; title: string; description: string };
} = {
  [EVENTS.messageReceived]: {
    key: "messageReceived",
    title: "A candidate's message was stored",
    description:
      "The platform's `{ conversationId, message: { from, text, timestamp } }`; `message` is the whole message as GET /api/messages/conversation/:id lists it (`text` is null for media, reactions…).",
  },
  [EVENTS.messageSent]: {
    key: "messageSent",
    title: "Meta accepted an outbound message",
    description:
      "The platform's `{ conversationId, messageId, status: \"sent\" }`. `messageId` is the id POST /api/messages/send returned; `wamid` is WhatsApp's id; `message` is the whole message.",
  },
  [EVENTS.messageStatus]: {
    key: "messageStatus",
    title: "A message's delivery state moved",
    description:
      "The platform's `{ messageId, status }`: `delivered`, `read`, `failed` (and `sent`, `played`, `held` while WhatsApp must be reconnected, `suppressed` when the candidate opted out before it went). `messageId` is our id: the one the send API returned, not WhatsApp's `wamid`, which is given beside it. States only move forward; a late copy may be ignored.",
  },
  [EVENTS.conversationUpdated]: {
    key: "conversationUpdated",
    title: "A conversation's summary changed",
    description:
      "The platform's `{ conversationId, updates: { unreadCount, lastMessageAt } }`: `updates` always has those two and names whatever else changed (window, preview, counters, name); `conversation` is the whole conversation after the change, as GET /api/messages/conversations lists it.",
  },
  [EVENTS.conversationDeleted]: {
    key: "conversationDeleted",
    title: "A conversation and its messages were deleted",
    description:
      "`reason` is `erasure` (the candidate's data was erased on request: POST /api/clients/:clientId/candidates/erase), `retention` (its last message is older than the tenant's retention), or `merged` (the same person's as `mergedInto`, which holds its messages now: a message from a new number was stored before the number change; a `conversation:updated` of `mergedInto` follows). The dashboard drops the thread; ids only, nothing that names the candidate.",
  },
  [EVENTS.conversationBlocked]: {
    key: "conversationBlocked",
    title: "The recruiter blocked or unblocked the candidate",
    description:
      "POST / DELETE /api/clients/:clientId/blocks called Meta's Block Users API. While `blocked`, sends to the candidate are refused and their messages are not routed to the recruiter; `conversation.blockedAt` says the same in the REST API.",
  },
  [EVENTS.messageMedia]: {
    key: "messageMedia",
    title: "An inbound media file was stored, failed, or waits",
    description:
      "Once `media.status` is `stored`, GET /api/media/:messageId serves the file. `heldReason` says why a pending fetch waits (e.g. reauth_required).",
  },
  [EVENTS.clientStatus]: {
    key: "clientStatus",
    title: "The WhatsApp connection's status changed, or its token expires soon",
    description:
      'A status change (`status`, `previousStatus`, `reason`) or, with `warning: "token_expiring"`, a warning while still active. `reauth_required` means sends are held until WhatsApp is reconnected.',
  },
  [EVENTS.candidateOptOut]: {
    key: "candidateOptOut",
    title: "A candidate's opt-out changed",
    description:
      "A candidate stopped (STOP, ARRÊT, توقف…; Meta's marketing preference; a 131050 failure; a recruiter or the platform) or resumed (START, REPRENDRE; Meta's resume). `scope` is what is in force after the change: `all` refuses every send (409 CANDIDATE_OPTED_OUT), `marketing` refuses marketing templates, null lifts it. `change` is the audit record: source, wamid or actor, time.",
  },
  [EVENTS.campaignProgress]: {
    key: "campaignProgress",
    title: "A campaign's counts changed",
    description:
      "At most one per campaign per second (the last change is always announced). `counts` are GET /api/campaigns/:id's, cumulative: a message read counts in `sent`, `delivered` and `read`; `suppressed` holds the opted-out recipients and, after a cancel, the messages it stopped (`cancelled`).",
  },
  [SOCKET_EVENTS.session]: {
    key: "authSession",
    title: "Who the socket is and which clients it follows",
    description:
      "Sent after connecting and after each accepted refresh. Rooms are joined before it is sent: read the REST API from then on to catch up.",
  },
  [SOCKET_EVENTS.error]: {
    key: "socketError",
    title: "The server is about to disconnect this socket",
    description:
      "`{ code, message }`, e.g. RATE_LIMITED when the socket sent more events than its budget; the server disconnects it just after.",
  },
  [SOCKET_EVENTS.expired]: {
    key: "authExpired",
    title: "The token reached exp",
    description:
      "The server disconnects the socket just after; the client does not reconnect by itself: fetch a new token, set `socket.auth.token`, call `socket.connect()`.",
  },
};

const DASHBOARD_EVENTS = Object.values<(typeof EVENTS)[keyof typeof EVENTS]>(EVENTS);
const SESSION_EVENTS = [SOCKET_EVENTS.session, SOCKET_EVENTS.expired, SOCKET_EVENTS.error] as const;

/**
 * Objects are open (fields are only ever added, a dashboard ignores the ones it does not know), so
 * no `additionalProperties: false`. Also drops what only repeats the type: date-time's long pattern,
 * integers' safe-integer bounds.
 */
function tidy(node: unknown): void {
  if (!node || typeof node !== "object") return;
  const n = node as Record<string, unknown>;
  if (n.additionalProperties === false) delete n.additionalProperties;
  if (n.format === "date-time") delete n.pattern;
  if (n.type === "integer" && n.maximum === Number.MAX_SAFE_INTEGER) delete n.maximum;
  if (n.type === "integer" && n.minimum === Number.MIN_SAFE_INTEGER) delete n.minimum;
  for (const v of Object.values(n)) tidy(v);
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: "draft-7",
    io: "output",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  tidy(rest);
  return rest;
}

function message(event: keyof ServerToClientEvents) {
  const about = EVENT_DESCRIPTIONS[event];
  return {
    name: event,
    title: about.title,
    summary: about.title,
    description: about.description,
    contentType: "application/json",
    payload: jsonSchema(SERVER_EVENT_SCHEMAS[event]),
    examples: EVENT_EXAMPLES[event].map((e) => ({ name: e.name, summary: e.summary, payload: e.payload })),
  };
}

const ref = (path: string) => ({ $ref: path });

/**
 * The AsyncAPI 3.0 document of the realtime API, from the realtime server's point of view (`send`:
 * it emits to dashboards; `receive`: dashboards emit to it). Built from the same schemas and
 * examples as the types, so it cannot drift from them.
 */
export function buildAsyncApiDocument(opts: { version?: string; realtimeHost?: string } = {}) {
  const messages: Record<string, ReturnType<typeof message> | Record<string, unknown>> = {};
  for (const e of [...DASHBOARD_EVENTS, ...SESSION_EVENTS]) messages[EVENT_DESCRIPTIONS[e].key] = message(e);
  messages.authRefresh = {
    name: SOCKET_EVENTS.refresh,
    title: "Extends the session with a newer token",
    summary: "Extends the session with a newer token",
    description:
      'Emitted with an acknowledgement: `await socket.emitWithAck("auth:refresh", { token })`. The token must be for the same user and role; access is decided again.',
    contentType: "application/json",
    payload: jsonSchema(refreshRequestSchema),
    examples: [{ name: "refresh", payload: { token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.signature" } }],
  };
  messages.authRefreshAck = {
    name: "auth:refresh (ack)",
    title: "The refresh's acknowledgement",
    summary: "The refresh's acknowledgement",
    contentType: "application/json",
    payload: jsonSchema(refreshAckSchema),
    examples: [
      { name: "accepted", payload: { ok: true, session: EVENT_EXAMPLES[SOCKET_EVENTS.session][0]!.payload } },
      {
        name: "refused",
        payload: {
          ok: false,
          error: { code: "AUTH_ERR_SUBJECT_MISMATCH", message: "the new token is for another user or role" },
        },
      },
    ],
  };

  const roomMessages = Object.fromEntries(
    DASHBOARD_EVENTS.map((e) => [EVENT_DESCRIPTIONS[e].key, ref(`#/components/messages/${EVENT_DESCRIPTIONS[e].key}`)]),
  );
  const sessionMessages = Object.fromEntries(
    [...SESSION_EVENTS.map((e) => EVENT_DESCRIPTIONS[e].key), "authRefresh", "authRefreshAck"].map((k) => [
      k,
      ref(`#/components/messages/${k}`),
    ]),
  );
  const operations: Record<string, unknown> = {};
  for (const e of DASHBOARD_EVENTS) {
    const key = EVENT_DESCRIPTIONS[e].key;
    operations[`send${key[0]!.toUpperCase()}${key.slice(1)}`] = {
      action: "send",
      title: `Emit ${e}`,
      summary: EVENT_DESCRIPTIONS[e].title,
      channel: ref("#/channels/tenantRoom"),
      messages: [ref(`#/channels/tenantRoom/messages/${key}`)],
    };
  }
  for (const e of SESSION_EVENTS) {
    const key = EVENT_DESCRIPTIONS[e].key;
    operations[`send${key[0]!.toUpperCase()}${key.slice(1)}`] = {
      action: "send",
      title: `Emit ${e}`,
      summary: EVENT_DESCRIPTIONS[e].title,
      channel: ref("#/channels/socket"),
      messages: [ref(`#/channels/socket/messages/${key}`)],
    };
  }
  operations.receiveAuthRefresh = {
    action: "receive",
    title: "Handle auth:refresh",
    summary: "A dashboard extends its session",
    channel: ref("#/channels/socket"),
    messages: [ref("#/channels/socket/messages/authRefresh")],
    reply: { channel: ref("#/channels/socket"), messages: [ref("#/channels/socket/messages/authRefreshAck")] },
  };

  return {
    asyncapi: "3.0.0",
    info: {
      title: "LinkoJob WhatsApp gateway: realtime events",
      version: opts.version ?? "1.0.0",
      description:
        "Socket.io events pushed to recruiter dashboards. Connect with socket.io-client over websocket only: " +
        '`io(url, { transports: ["websocket"], auth: { token, clientId } })` (clientId optional for recruiters). ' +
        "The server puts the socket in the rooms of the clients (tenants) the JWT gives access to; there is no join event. " +
        "Payloads carry ids as strings and dates as ISO-8601 strings; objects are open (ignore unknown fields). " +
        `A refused handshake reaches \`connect_error\` with \`err.data = { code, message }\`, code one of ${SOCKET_REFUSAL_CODES.join(", ")}. ` +
        "The REST API is documented at /docs.",
    },
    defaultContentType: "application/json",
    servers: {
      realtime: {
        host: opts.realtimeHost ?? "realtime.example.com",
        protocol: "wss",
        description: "The realtime process (Socket.io v4, websocket transport only).",
        security: [ref("#/components/securitySchemes/jwt")],
      },
    },
    channels: {
      tenantRoom: {
        address: "client:{clientId}",
        title: "A tenant's room",
        description: "Every dashboard event goes to the room of the client (tenant) it concerns, and only there.",
        parameters: { clientId: { description: "The client's (tenant's) id: 24 hex characters." } },
        messages: roomMessages,
      },
      socket: {
        address: null,
        title: "The socket's own session",
        description: "Events between one socket and the server: session, expiry and token refresh.",
        messages: sessionMessages,
      },
    },
    operations,
    components: {
      messages,
      securitySchemes: {
        jwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The platform's HS256 JWT (the REST API's), given in the handshake as `auth.token`.",
        },
      },
    },
  };
}
export type AsyncApiDocument = ReturnType<typeof buildAsyncApiDocument>;
