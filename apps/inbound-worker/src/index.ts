export * from "./inbound-worker.js";
export * from "./routing/delivery-processor.js";
export * from "./routing/client-directory.js";
export * from "./pump/ingress-pump.js";
export * from "./account/account-update.handler.js";
export * from "./upkeep/upkeep.js";
export { storeEcho, type EchoEvent } from "./routing/echo-processor.js";
export { deadLetterBody, replayJobId, type DeadLetterValue } from "./routing/dead-letters.js";
export type { MediaWorkerOptions } from "./media/media-worker.js";
