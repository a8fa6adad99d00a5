export * from "./graph-errors";
export * from "./graph-client";
export * from "./error-policy";
export * from "./onboarding-api";
export * from "./messaging-api";
export * from "./templates-api";
export * from "./media-api";
