export * from "./outbound-worker";
export * from "./send/send-processor";

export * from "./send/send-errors";
export * from "./send/token-access";
export * from "./pacing/send-pacer";
export * from "@linkojob/outbound";
