export * from "./inbound-worker";
export * from "./routing/delivery-processor";
export * from "./routing/client-directory";
export * from "./pump/ingress-pump";
export * from "./account/account-update.handler";
export * from "./upkeep/upkeep";
export { storeEcho, type EchoEvent } from "./routing/echo-processor";
