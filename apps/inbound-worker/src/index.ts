export * from "./inbound-worker";
export * from "./routing/delivery-processor";
export * from "./routing/client-directory";
export * from "./pump/ingress-pump";
export * from "./account/account-update.handler";
export * from "./upkeep/upkeep";
export { storeEcho, type EchoEvent } from "./routing/echo-processor";
export { deadLetterBody, replayJobId, type DeadLetterValue } from "./routing/dead-letters";
export type { MediaWorkerOptions } from "./media/media-worker";
