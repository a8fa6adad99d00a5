// What other processes and their tests may use from the ingress: the app itself, the media URL
// signing the inbound worker checks against, read receipts and the token re-encryption command.
export { buildApp, type IngressConfig, type IngressDeps } from "./app.js";
export { MediaUrlSigner } from "./media/media-url-signer.js";
export { ReadReceipts, TYPING_INTERVAL_MS, type ReceiptResult } from "./conversations/read-receipts.js";
export { reencryptStoredTokens, type ReencryptReport } from "./cli/reencrypt-tokens.command.js";
