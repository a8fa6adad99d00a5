export * from "./gateway-metrics.js";
export * from "./queue-collector.js";
export * from "./worker-instrumentation.js";
export * from "./graph-observer.js";
export * from "./serve-metrics.js";
export * from "./health-server.js";
export * from "./readiness.js";
export * from "./failing-streak.js";
