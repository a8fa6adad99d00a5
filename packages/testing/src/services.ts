// Service starters without any Vitest import, for scripts (demo, benchmarks) as well as tests.
export * from "./ports";
export * from "./ferretdb";
export * from "./redis-server";
export * from "./redis-cluster";
export * from "./command-counter";
export * from "./redis-command-counter";
