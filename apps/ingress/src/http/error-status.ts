import type { CodeOf, DomainError, ErrorCatalog } from "@linkojob/errors";
import { AuthError } from "@linkojob/auth";
import { DbError } from "@linkojob/db";
import { BlockingError, OptOutError, OutboundMediaError, TemplateRefusalError } from "@linkojob/outbound";
import { CampaignError } from "../campaigns/campaign-error.js";
import { FlowError } from "../flows/flow-error.js";
import { DemoCandidateError } from "../inbox/demo-candidate-error.js";
import { MediaAccessError } from "../media/media-access-error.js";
import { OnboardingError } from "../onboarding/onboarding-error.js";
import { SendError } from "../sends/send-error.js";
import { TemplateSyncError } from "../templates/template-sync-error.js";
import { ApiError } from "./api-error.js";

/** Every error catalog whose codes can reach an API answer, by its name. */
export const ERROR_CATALOGS = {
  ApiError,
  AuthError,
  DbError,
  OnboardingError,
  SendError,
  CampaignError,
  TemplateRefusalError,
  OptOutError,
  OutboundMediaError,
  BlockingError,
  TemplateSyncError,
  FlowError,
  MediaAccessError,
  DemoCandidateError,
} satisfies Record<string, ErrorCatalog>;

type StatusTable = { [K in keyof typeof ERROR_CATALOGS]: Record<CodeOf<(typeof ERROR_CATALOGS)[K]>, number> };

/**
 * The one place where a domain error becomes an HTTP status: catalog → code → status. The type
 * makes a code without a status a compile error; http/error-status.unit.test.ts checks the same at
 * run time for every catalog loaded with the app. A code is named per catalog, so one code may mean
 * different things in two domains (META_UNAVAILABLE is 503 while connecting, 502 for a flow call).
 */
export const ERROR_STATUS: StatusTable = {
  ApiError: { BAD_REQUEST: 400, NOT_FOUND: 404, FORBIDDEN: 403, VALIDATION_ERROR: 400, RATE_LIMITED: 429 },
  AuthError: { AUTH_ERR_MISSING: 401, AUTH_ERR_INVALID: 401, AUTH_ERR_EXPIRED: 401 },
  DbError: { DB_ERR_INVALID_ID: 400, DB_ERR_INVALID_CURSOR: 400 },
  OnboardingError: {
    STATE_INVALID: 400,
    STATE_EXPIRED: 400,
    STATE_REPLAYED: 400,
    STATE_BROWSER_MISMATCH: 400,
    ACCESS_DENIED: 400,
    CODE_MISSING: 400,
    CODE_EXPIRED: 400,
    CODE_USED: 400,
    CODE_EXCHANGE_FAILED: 502,
    TOKEN_INVALID: 400,
    TOKEN_WRONG_APP: 400,
    NO_WABA_GRANTED: 400,
    WABA_NOT_GRANTED: 403,
    NO_PHONE_NUMBER: 400,
    PHONE_NUMBER_NOT_FOUND: 400,
    PHONE_NUMBER_MISMATCH: 400,
    PHONE_NUMBER_AMBIGUOUS: 409,
    NUMBER_TAKEN: 409,
    CONNECT_IN_PROGRESS: 409,
    PERMISSION_DENIED: 403,
    SUBSCRIBE_FAILED: 502,
    REGISTRATION_FAILED: 502,
    META_UNAVAILABLE: 503,
    META_ERROR: 502,
    NOT_CONNECTED: 404,
    TOKEN_UNREADABLE: 500,
    SERVICE_UNAVAILABLE: 503,
    CHECK_THROTTLED: 429,
  },
  SendError: {
    CLIENT_DISCONNECTED: 409,
    SEND_UNAVAILABLE: 503,
    IDEMPOTENCY_KEY_IN_USE: 409,
    NOT_REPLICATED: 503,
    QUEUE_UNAVAILABLE: 503,
    POLICY_UNAVAILABLE: 503,
  },
  CampaignError: { CLIENT_DISCONNECTED: 409, CAMPAIGN_UNAVAILABLE: 503 },
  // 409 for a template Meta paused or disabled (its state), 400 for what the request asks of it.
  TemplateRefusalError: {
    TEMPLATE_NOT_FOUND: 400,
    TEMPLATE_NOT_APPROVED: 409,
    TEMPLATE_PARAM_NAMES: 400,
    TEMPLATE_PARAM_COUNT: 400,
    TEMPLATE_PARAM_EMPTY: 400,
    TEMPLATE_HEADER_MISSING: 400,
    TEMPLATE_HEADER_FORMAT: 400,
    TEMPLATE_BUTTON_MISMATCH: 400,
    TEMPLATE_BUTTON_MISSING: 400,
    TEMPLATE_NEEDS_PHONE: 400,
  },
  // The candidate's own opt-out is theirs to lift (403); a send to an opted-out candidate conflicts with it.
  OptOutError: { CANDIDATE_OWN_OPT_OUT: 403, NO_CANDIDATE: 400, CANDIDATE_OPTED_OUT: 409 },
  // Over Meta's size limit is 413; any other refused media is the request's fault.
  OutboundMediaError: {
    MEDIA_TOO_LARGE: 413,
    MEDIA_TYPE: 400,
    MEDIA_MISSING: 400,
    MEDIA_URL_REFUSED: 400,
    MEDIA_URL_FAILED: 400,
  },
  BlockingError: {
    BLOCKING_UNAVAILABLE: 503,
    CLIENT_NOT_CONNECTED: 409,
    CANDIDATE_UNKNOWN: 404,
    CANDIDATE_NOT_RECENT: 409,
    BLOCK_FAILED: 409,
    BLOCKLIST_FULL: 409,
    BLOCKLIST_CHANGED: 409,
    SELF_BLOCK: 400,
    META_RATE_LIMITED: 429,
    META_ERROR: 502,
  },
  TemplateSyncError: { SYNC_UNAVAILABLE: 503, CLIENT_NOT_CONNECTED: 409, META_ERROR: 502 },
  // Meta's validation errors and refusals are the request's content (422); no answer from Meta is a 502.
  FlowError: {
    CLIENT_NOT_CONNECTED: 409,
    FLOW_JSON_INVALID: 400,
    META_VALIDATION_ERRORS: 422,
    META_REFUSED: 422,
    META_UNAVAILABLE: 502,
  },
  // A failed fetch is gone for good (404), a pending one will come (409).
  MediaAccessError: { MEDIA_URL_INVALID: 403, MEDIA_PENDING: 409, MEDIA_FAILED: 404, MEDIA_FILE_MISSING: 404 },
  DemoCandidateError: { NOTHING_TO_REACT_TO: 409, SIMULATOR_UNREACHABLE: 502, SIMULATOR_REFUSED: 502 },
};

/** The HTTP status of a domain error, or undefined when its catalog or code has none (answered as a 500). */
export function statusOf(err: DomainError): number | undefined {
  const table: Readonly<Record<string, Readonly<Record<string, number>>>> = ERROR_STATUS;
  const byCode = Object.hasOwn(table, err.catalog) ? table[err.catalog] : undefined;
  return byCode && Object.hasOwn(byCode, err.code) ? byCode[err.code] : undefined;
}
