export * from "./token-vault";
