import { GraphApiError, classifyGraphError } from "@linkojob/whatsapp";
import { HttpError } from "../http/errors.js";

/**
 * Why a connection attempt failed, as a stable, readable code. The callback puts it in the dashboard
 * URL (`whatsapp_error=NUMBER_TAKEN`), the JSON endpoints answer `{ error: { code, message } }`.
 */
export const ONBOARDING_ERRORS = {
  STATE_INVALID: [400, "the sign-in link is invalid; start again from the dashboard"],
  STATE_EXPIRED: [400, "the sign-in link expired; start again from the dashboard"],
  STATE_REPLAYED: [400, "this sign-in link was already used; start again from the dashboard"],
  STATE_BROWSER_MISMATCH: [
    400,
    "the connection must be finished in the browser that started it (from the dashboard, while signed in); start again there",
  ],
  ACCESS_DENIED: [400, "the connection was cancelled in Facebook"],
  CODE_MISSING: [400, "Facebook returned no authorization code"],
  CODE_EXPIRED: [400, "the authorization code expired before it could be used; try again"],
  CODE_USED: [400, "the authorization code was already used; try again"],
  CODE_EXCHANGE_FAILED: [502, "Facebook refused the authorization code"],
  TOKEN_INVALID: [400, "the access token is not valid (expired or revoked)"],
  TOKEN_WRONG_APP: [400, "the access token was issued for another Meta app"],
  NO_WABA_GRANTED: [400, "no WhatsApp Business Account was shared with the platform"],
  WABA_NOT_GRANTED: [403, "the token does not give access to that WhatsApp Business Account"],
  NO_PHONE_NUMBER: [400, "the WhatsApp Business Account has no phone number"],
  PHONE_NUMBER_NOT_FOUND: [400, "that phone number is not in the shared WhatsApp Business Account"],
  PHONE_NUMBER_MISMATCH: [400, "the phone number does not match that phone number id"],
  PHONE_NUMBER_AMBIGUOUS: [409, "the WhatsApp Business Account has several phone numbers: choose one (phoneNumberId)"],
  NUMBER_TAKEN: [409, "this WhatsApp number is already connected to another account"],
  CONNECT_IN_PROGRESS: [409, "this number is being connected right now; try again in a minute"],
  PERMISSION_DENIED: [403, "Meta refused: a permission is missing for this WhatsApp Business Account"],
  SUBSCRIBE_FAILED: [502, "the platform could not subscribe to the account's webhooks"],
  REGISTRATION_FAILED: [502, "the phone number could not be registered on the WhatsApp Cloud API"],
  META_UNAVAILABLE: [503, "Meta did not answer; try again in a moment"],
  META_ERROR: [502, "Meta refused the request"],
  NOT_CONNECTED: [404, "no WhatsApp connection for this account"],
  TOKEN_UNREADABLE: [
    500,
    "the stored token cannot be decrypted (tampered, or its key was removed from TOKEN_ENCRYPTION_KEY)",
  ],
  SERVICE_UNAVAILABLE: [503, "the service is temporarily unavailable; try again"],
} as const satisfies Record<string, readonly [number, string]>;

export type OnboardingErrorCode = keyof typeof ONBOARDING_ERRORS;

export class OnboardingError extends HttpError {
  declare readonly code: OnboardingErrorCode;
  constructor(code: OnboardingErrorCode, details?: unknown, message?: string) {
    const [status, text] = ONBOARDING_ERRORS[code];
    super(status, code, message ?? text, details);
    this.name = "OnboardingError";
  }
}

/**
 * A Graph failure during onboarding as an OnboardingError: what the recruiter can act on, with
 * Meta's code, message and fbtrace id as details for support (never a token: GraphApiError has none).
 */
export function onboardingErrorFromGraph(err: unknown, fallback: OnboardingErrorCode = "META_ERROR"): OnboardingError {
  if (err instanceof OnboardingError) return err;
  const c = classifyGraphError(err);
  const details =
    err instanceof GraphApiError
      ? { metaCode: err.code, metaSubcode: err.subcode, metaMessage: err.message, fbtraceId: err.fbtraceId }
      : undefined;
  if (c.kind === "auth") return new OnboardingError("TOKEN_INVALID", details);
  if (c.kind === "permission") return new OnboardingError("PERMISSION_DENIED", details);
  if (c.retryable) return new OnboardingError("META_UNAVAILABLE", details);
  return new OnboardingError(fallback, details);
}
