export * from "./events";
export * from "./payloads";
export * from "./session";
export * from "./contract";
export * from "./builders";
export * from "./emitter";
export * from "./examples";
export * from "./asyncapi";
