import { defineErrors } from "@linkojob/errors";

/** The flows domain's error catalog: what FlowManagement answers when a flow cannot be managed. */
export class FlowError extends defineErrors("FlowError", {
  CLIENT_NOT_CONNECTED: "the client has no working WhatsApp connection",
  FLOW_JSON_INVALID: "the Flow JSON has problems",
  META_VALIDATION_ERRORS: "Meta found validation errors in the Flow JSON",
  META_REFUSED: "Meta refused the call",
  META_UNAVAILABLE: "Meta did not answer the call",
}) {}
