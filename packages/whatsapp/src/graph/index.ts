export * from "./graph-errors.js";
export * from "./graph-client.js";
export * from "./error-policy.js";
export * from "./onboarding-api.js";
export * from "./messaging-api.js";
export * from "./templates-api.js";
export * from "./media-api.js";
export * from "./block-users-api.js";
