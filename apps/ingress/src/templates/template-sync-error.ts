import { defineErrors } from "@linkojob/errors";

/** The template sync's error catalog: why the client's templates could not be synced from Meta now. */
export class TemplateSyncError extends defineErrors("TemplateSyncError", {
  SYNC_UNAVAILABLE: "template sync is not configured on this node",
  CLIENT_NOT_CONNECTED: "the client has no working WhatsApp connection",
  META_ERROR: "Meta refused the template list",
}) {}
