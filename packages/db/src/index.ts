export * from "./database.js";
export * from "./heartbeat-watchdog.js";
export * from "./errors.js";
export * from "./ferretdb-adapter.js";
export * from "./ids.js";
export * from "./clients/client.model.js";
export * from "./clients/client-status.js";
export * from "./clients/client-json.js";
export * from "./clients/user-id.js";
export * from "./conversations/conversation.model.js";
export * from "./conversations/conversation.repository.js";
export { windowEndAfter, windowOpen } from "./conversations/window.js";
export * from "./conversations/conversation-batch.js";
export * from "./conversations/conversation-merge.js";
export * from "./conversations/conversation-blocks.js";
export * from "./messages/message.model.js";
export * from "./messages/media-bucket.js";
export * from "./messages/message.repository.js";
export * from "./messages/inbound-message-batch.js";
export * from "./messages/status-batch.js";
export * from "./webhook-events/webhook-event.model.js";
export * from "./messages/outbound-message.repository.js";
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
