import { clientStatusChanged, conversationUpdated, messageReceived, messageStatus } from "./builders.js";
import { EVENT_EXAMPLES } from "./examples.js";
import { EVENTS } from "./events.js";
import type {
  ClientStatusChangedPayload,
  ConversationUpdatedPayload,
  MessageReceivedPayload,
  MessageStatusPayload,
} from "./payloads.js";

/**
 * Valid payloads addressed to any client and told apart by a tag, for tests of who receives what
 * (rooms, sessions, adapters): they go through the same typed `toClient` as production payloads.
 */

const example = <T>(list: ReadonlyArray<{ payload: T }>): T => list[0]!.payload;

/** `message:received` for `clientId` whose message text is `text`. */
export function sampleMessageReceived(clientId: string, text: string): MessageReceivedPayload {
  const base = example(EVENT_EXAMPLES[EVENTS.messageReceived]).message;
  return messageReceived({ ...base, clientId, text, content: { body: text } });
}

/** `conversation:updated` for `clientId`, the candidate named `tag`. */
export function sampleConversationUpdated(clientId: string, tag = "sample"): ConversationUpdatedPayload {
  const base = example(EVENT_EXAMPLES[EVENTS.conversationUpdated]).conversation;
  return conversationUpdated({ ...base, clientId, candidateName: tag }, ["candidateName"]);
}

/** `message:status` (delivered) for `clientId`, whose wamid is `tag`. */
export function sampleMessageStatus(clientId: string, tag: string): MessageStatusPayload {
  const base = example(EVENT_EXAMPLES[EVENTS.messageStatus]);
  return messageStatus({ ...base, clientId, wamid: tag, at: base.timestamp });
}

/** `client:status` for `clientId`, whose detail is `tag`. */
export function sampleClientStatus(clientId: string, tag: string): ClientStatusChangedPayload {
  return clientStatusChanged({
    clientId,
    phoneNumberId: "100000000000001",
    status: "active",
    previousStatus: "active",
    reason: "SAMPLE",
    detail: tag,
    at: new Date(0),
  });
}
