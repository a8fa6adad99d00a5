export * from "./database.js";
export * from "./heartbeat-watchdog.js";
export * from "./errors.js";
export { storableValues, type BulkWriter } from "./ferretdb-adapter.js";
export * from "./ids.js";
export * from "./clients/client.model.js";
export * from "./clients/client-status.js";
export * from "./clients/client-json.js";
export * from "./clients/user-id.js";
export * from "./conversations/conversation.model.js";
export {
  ConversationRepository,
  WINDOW_MS,
  countedIn,
  type CandidateIdentity,
  type ConversationExtra,
  type FirstMessage,
  type TenantConversations,
} from "./conversations/conversation.repository.js";
export { conversationView, messageSortKey, type ConversationView } from "./conversations/conversation-view.js";
export { windowEndAfter, windowOpen } from "./conversations/window.js";
export {
  COUNTED_IDS_KEPT,
  type ConversationBatch,
  type ConversationBatchOptions,
  type ConversationChanges,
  type ConversationInbound,
  type ConversationRef,
  type CountedInbound,
  type IdentityMove,
} from "./conversations/conversation-batch.js";
export {
  NUMBER_CHANGE_SKEW_MS,
  sameOwner,
  type ConversationMerger,
  type MergePlan,
  type MergeResult,
  type MergeSeed,
} from "./conversations/conversation-merge.js";
export { blockedKey, type InboundCandidateRef } from "./conversations/conversation-blocks.js";
export * from "./messages/message.model.js";
export * from "./messages/media-bucket.js";
export * from "./messages/message-docs.js";
export {
  InvalidCursorError,
  MessageRepository,
  type MessagePage,
  type TenantMessages,
} from "./messages/message.repository.js";
export {
  TRANSIENT_SERVER_CODES,
  type InboundInsert,
  type InboundInsertResult,
  type InboundInsertState,
  type InboundMessageBatch,
  type InboundMessageBatchOptions,
} from "./messages/inbound-message-batch.js";
export type { StatusItem } from "./messages/status-batch.js";
export * from "./webhook-events/webhook-event.model.js";
export {
  candidateKeyOf,
  fallbackDedupeKey,
  idempotentDedupeKey,
  outboundDedupeKey,
  type CostTotals,
  type NewOutbound,
  type OutboundKind,
  type OutboundMediaRef,
  type OutboundMessageDoc,
  type OutboundMessages,
  type PlanContext,
  type SendConversation,
  type SendRecord,
  type SentSummary,
  type SentTemplate,
  type StoredOutboundRequest,
} from "./messages/outbound-messages.js";
export * from "./templates/template.model.js";
export * from "./templates/template.repository.js";
export * from "./opt-outs/opt-out.model.js";
export * from "./opt-outs/opt-out.repository.js";
export * from "./opt-outs/candidate-lookup.js";
export * from "./sending-policy/sending-policy.model.js";
export * from "./sending-policy/sending-policy.repository.js";
export * from "./erasures/erasure.model.js";
export {
  IDENTITY_PROJECTION,
  identityClauses,
  matchScore,
  type CandidateIds,
  type StoredIdentity,
} from "./conversations/candidate-identity.js";
export * from "./analytics/analytics.model.js";
export * from "./analytics/analytics-events.js";
export * from "./analytics/analytics-counters.js";
export * from "./analytics/analytics-projector.js";
export * from "./analytics/analytics-report.js";
export * from "./flows/flow-endpoint.model.js";
export * from "./flows/flow-token.js";
export * from "./campaigns/campaign.model.js";
export * from "./campaigns/campaign.repository.js";
