export * from "./outbound-worker.js";
export * from "./send/send-processor.js";

export * from "./send/send-errors.js";
export * from "./send/token-access.js";
export * from "./pacing/send-pacer.js";
export * from "@linkojob/outbound";
