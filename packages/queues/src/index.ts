export * from "./catalog";
export * from "./redis";
