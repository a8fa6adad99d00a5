export * from "./client-lifecycle.js";
export * from "./account-update.js";
