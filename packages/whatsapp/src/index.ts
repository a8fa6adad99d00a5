export * from "./signature";
export * from "./phone";
export * from "./webhook-schema";
export * from "./normalize";
export * from "./graph";
