export * from "./token-vault.js";
