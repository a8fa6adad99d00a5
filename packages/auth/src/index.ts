export * from "./jwt.js";
export * from "./jwt-env.js";
