export * from "./quiet-hours.js";
export * from "./candidate-zone.js";
export * from "./sending-policy.js";
export * from "./messaging-budget.js";
export * from "./protection-state.js";
export * from "./send-gate.js";
export * from "./limit-events.js";
