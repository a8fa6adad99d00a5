export * from "./simulator.js";
export * from "./state.js";
export * from "./webhooks/payloads.js";
export * from "./webhooks/webhook-sender.js";
export {
  messagingState,
  rateStats,
  settleStatusFlows,
  type MessagingState,
  type RateStats,
  type SimTemplate,
} from "./graph/messaging-state.js";
export { simTemplate } from "./graph/templates.routes.js";
export { portfolioState, OVER_PORTFOLIO_LIMIT_CODE, type PortfolioState } from "./graph/portfolio.state.js";
export { newUserId, userIdForPhone } from "./webhooks/user-ids.js";
export { flowsState, type SimFlow, type FlowsState } from "./graph/flows.routes.js";
export * from "./flows/flow-client.js";
