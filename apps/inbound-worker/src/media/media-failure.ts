/**
 * Why a media fetch ended as `failed`, in a stable code and words a dashboard can show. Thrown inside
 * the fetcher and recorded on the message; never retried.
 */
export type MediaFailureCode =
  | "MEDIA_ID_MISSING" // the webhook named no media id
  | "MEDIA_ID_EXPIRED" // older than Meta's 7-day media id lifetime
  | "MEDIA_NOT_FOUND" // Meta says the id does not exist (expired or deleted)
  | "MEDIA_TOO_LARGE" // over Meta's limit for its type
  | "SHA256_MISMATCH" // the bytes are not the ones the candidate sent
  | "CLIENT_DISCONNECTED" // the tenant disconnected: no token to fetch with
  | "META_REJECTED" // another permanent Graph error
  | "DOWNLOAD_REJECTED" // the download answered an unexpected status or an untrusted URL
  | "GAVE_UP"; // transient failures outlasted every attempt

export class MediaFailure extends Error {
  readonly code: MediaFailureCode;
  constructor(code: MediaFailureCode, reason: string) {
    super(reason);
    this.name = "MediaFailure";
    this.code = code;
  }
}

/** A transient failure: the job is retried with backoff. The message never carries a token or URL query. */
export class MediaRetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MediaRetryableError";
  }
}
