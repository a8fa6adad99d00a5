export * from "./simulator";
export * from "./state";
export * from "./webhooks/payloads";
export * from "./webhooks/webhook-sender";
export {
  messagingState,
  rateStats,
  settleStatusFlows,
  type MessagingState,
  type RateStats,
  type SimTemplate,
} from "./graph/messaging-state";
export { simTemplate } from "./graph/templates.routes";
export { newUserId, userIdForPhone } from "./webhooks/user-ids";
