export * from "./enqueue";
export * from "./template-fallback";
export * from "./status-hook";
export * from "./template-status-handler";
export * from "./outbound-media";
