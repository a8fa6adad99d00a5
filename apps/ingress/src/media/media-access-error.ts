import { defineErrors } from "@linkojob/errors";

/** The stored media's error catalog: why a media message's file cannot be served (yet). */
export class MediaAccessError extends defineErrors("MediaAccessError", {
  MEDIA_URL_INVALID: "this media URL is invalid or has expired; ask for a new one",
  MEDIA_PENDING: "the file is still being fetched from WhatsApp",
  MEDIA_FAILED: "the file could not be fetched from WhatsApp",
  MEDIA_FILE_MISSING: "the stored file is missing",
}) {}
