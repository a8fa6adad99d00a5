// Service starters without any Vitest import, for scripts (demo, benchmarks) as well as tests.
export * from "./ports.js";
export * from "./ferretdb.js";
export * from "./redis-server.js";
export * from "./redis-cluster.js";
export * from "./redis-sentinel.js";
export * from "./command-counter.js";
export * from "./redis-command-counter.js";
export * from "./tcp-outage.js";
export * from "./node-process.js";
export * from "./tokens.js";
