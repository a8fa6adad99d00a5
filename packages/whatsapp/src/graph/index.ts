export * from "./graph-errors";
export * from "./graph-client";
export * from "./error-policy";
export * from "./onboarding-api";
