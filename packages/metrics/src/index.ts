export * from "./gateway-metrics";
export * from "./queue-collector";
export * from "./worker-instrumentation";
export * from "./graph-observer";
export * from "./serve-metrics";
export * from "./health-server";
export * from "./readiness";
