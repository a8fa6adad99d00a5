export * from "./simulator";
export * from "./state";
export * from "./webhooks/payloads";
export * from "./webhooks/webhook-sender";
