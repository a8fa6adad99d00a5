export * from "./jwt";
