export * from "./events";
export * from "./emitter";
