export * from "./catalog";
export * from "./redis";
export * from "./redis-lock";
export * from "./redis-script";
