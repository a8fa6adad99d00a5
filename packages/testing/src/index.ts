export * from "./ports";
export * from "./ferretdb";
export * from "./redis-server";
export * from "./redis-cluster";
export * from "./context";
export * from "./tokens";
export * from "./wait";
export * from "./command-counter";
