export * from "./catalog.js";
export * from "./redis.js";
export * from "./redis-lock.js";
export * from "./redis-lock-set.js";
export * from "./redis-script.js";
export * from "./stream-pump.js";
