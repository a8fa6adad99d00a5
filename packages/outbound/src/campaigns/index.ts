export * from "./campaign-progress.js";
export * from "./campaign-ids.js";
export * from "./campaign-request.js";
export * from "./campaign-replies.js";
export * from "./campaign-expansion.js";
