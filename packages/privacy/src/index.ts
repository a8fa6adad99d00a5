export * from "./keyed-hash.js";
export * from "./opt-out-keeper.js";
export * from "./redis-scan.js";
export * from "./candidate-erasure.js";
export * from "./erasure-requests.js";
export * from "./erasure-worker.js";
export * from "./conversation-removal.js";
export * from "./retention-purge.js";
