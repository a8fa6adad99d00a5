import { GraphApiError, classifyGraphError } from "@linkojob/whatsapp";
import { defineErrors, type ErrorDetails } from "@linkojob/errors";

/**
 * Why a connection attempt failed, as a stable, readable code: the onboarding domain's error
 * catalog. The callback puts the code in the dashboard URL (`whatsapp_error=NUMBER_TAKEN`), the JSON
 * endpoints answer `{ error: { code, message } }` with the status http/error-status.ts gives it.
 */
export const ONBOARDING_ERRORS = {
  STATE_INVALID: "the sign-in link is invalid; start again from the dashboard",
  STATE_EXPIRED: "the sign-in link expired; start again from the dashboard",
  STATE_REPLAYED: "this sign-in link was already used; start again from the dashboard",
  STATE_BROWSER_MISMATCH:
    "the connection must be finished in the browser that started it (from the dashboard, while signed in); start again there",
  ACCESS_DENIED: "the connection was cancelled in Facebook",
  CODE_MISSING: "Facebook returned no authorization code",
  CODE_EXPIRED: "the authorization code expired before it could be used; try again",
  CODE_USED: "the authorization code was already used; try again",
  CODE_EXCHANGE_FAILED: "Facebook refused the authorization code",
  TOKEN_INVALID: "the access token is not valid (expired or revoked)",
  TOKEN_WRONG_APP: "the access token was issued for another Meta app",
  NO_WABA_GRANTED: "no WhatsApp Business Account was shared with the platform",
  WABA_NOT_GRANTED: "the token does not give access to that WhatsApp Business Account",
  NO_PHONE_NUMBER: "the WhatsApp Business Account has no phone number",
  PHONE_NUMBER_NOT_FOUND: "that phone number is not in the shared WhatsApp Business Account",
  PHONE_NUMBER_MISMATCH: "the phone number does not match that phone number id",
  PHONE_NUMBER_AMBIGUOUS: "the WhatsApp Business Account has several phone numbers: choose one (phoneNumberId)",
  NUMBER_TAKEN: "this WhatsApp number is already connected to another account",
  CONNECT_IN_PROGRESS: "this number is being connected right now; try again in a minute",
  PERMISSION_DENIED: "Meta refused: a permission is missing for this WhatsApp Business Account",
  SUBSCRIBE_FAILED: "the platform could not subscribe to the account's webhooks",
  REGISTRATION_FAILED: "the phone number could not be registered on the WhatsApp Cloud API",
  META_UNAVAILABLE: "Meta did not answer; try again in a moment",
  META_ERROR: "Meta refused the request",
  NOT_CONNECTED: "no WhatsApp connection for this account",
  TOKEN_UNREADABLE: "the stored token cannot be decrypted (tampered, or its key was removed from TOKEN_ENCRYPTION_KEY)",
  SERVICE_UNAVAILABLE: "the service is temporarily unavailable; try again",
  CHECK_THROTTLED: "this connection was checked a moment ago; try again later",
} as const;

const OnboardingErrors = defineErrors("OnboardingError", ONBOARDING_ERRORS);
export type OnboardingErrorCode = keyof typeof ONBOARDING_ERRORS;

export class OnboardingError extends OnboardingErrors {
  constructor(code: OnboardingErrorCode, details?: ErrorDetails, message?: string) {
    super(code, message, details);
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
