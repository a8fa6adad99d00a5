export * from "./opt-out-words.js";
export * from "./opt-out-rule.js";
export * from "./opt-out-state.js";
export * from "./opt-out-register.js";
export * from "./user-preferences-handler.js";
export * from "./hashed-identity.js";
export * from "./opt-out-erasure.js";
