export * from "./jwt";
export * from "./jwt-env";
