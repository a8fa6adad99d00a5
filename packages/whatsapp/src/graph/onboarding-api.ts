import { graphPath, type GraphClient } from "./graph-client.js";
import { GraphResponseError } from "./graph-errors.js";

/**
 * The Graph API calls of tenant onboarding (Embedded Signup).
 * Plain functions over a GraphClient; the app credentials are passed where Meta wants them.
 */

export interface AppCredentials {
  appId: string;
  appSecret: string;
}

/** The app access token `appId|appSecret`, for calls made as the app (debug_token). */
export const appAccessToken = (app: AppCredentials) => `${app.appId}|${app.appSecret}`;

export interface ExchangedToken {
  accessToken: string;
  tokenType: string | null;
  /** Seconds until expiry when Meta says so (business tokens usually do not). */
  expiresIn: number | null;
}

/**
 * Exchanges an authorization code (it lives about 30 s) for the customer's business token. The
 * token comes back as `access_token`, or as `business_token` in some of Meta's documentation: both
 * are accepted. `redirectUri` must be the one the dialog used (redirect flow); omit it for the
 * JavaScript-SDK popup flow.
 */
export async function exchangeCodeForToken(
  graph: GraphClient,
  app: AppCredentials,
  input: { code: string; redirectUri?: string },
): Promise<ExchangedToken> {
  const res = await graph.get<{
    access_token?: unknown;
    business_token?: unknown;
    token_type?: unknown;
    expires_in?: unknown;
  }>("oauth/access_token", {
    query: {
      client_id: app.appId,
      client_secret: app.appSecret,
      code: input.code,
      ...(input.redirectUri ? { redirect_uri: input.redirectUri } : {}),
    },
    secrets: [app.appSecret, input.code],
  });
  const token =
    typeof res?.access_token === "string" && res.access_token
      ? res.access_token
      : typeof res?.business_token === "string" && res.business_token
        ? res.business_token
        : null;
  if (!token)
    throw new GraphResponseError(
      "the code exchange answered without access_token or business_token",
      "GET oauth/access_token",
      200,
    );
  const expiresIn = Number(res.expires_in);
  return {
    accessToken: token,
    tokenType: typeof res.token_type === "string" ? res.token_type : null,
    expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
  };
}

export interface GranularScope {
  scope: string;
  /** The objects (WABA ids for the WhatsApp scopes) the scope is granted on; empty = not restricted. */
  targetIds: string[];
}

export interface TokenInfo {
  isValid: boolean;
  appId: string | null;
  type: string | null;
  application: string | null;
  userId: string | null;
  /** null when the token never expires (`expires_at` 0). */
  expiresAt: Date | null;
  dataAccessExpiresAt: Date | null;
  scopes: string[];
  granularScopes: GranularScope[];
  /** Meta's error for an invalid token (code 190 and a message), if any. */
  error: { code: number | null; message: string | null; subcode: number | null } | null;
}

/** A Graph id as text: Meta sends ids as strings (a few fields as numbers); any other value is no id. */
const graphId = (v: unknown): string | null => {
  if (typeof v === "string") return v;
  return typeof v === "number" ? String(v) : null;
};

const unixToDate = (v: unknown): Date | null => {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000) : null;
};

/** `GET /debug_token?input_token=…`, authenticated as the app: validity, expiry and granted WABAs. */
export async function debugToken(graph: GraphClient, app: AppCredentials, inputToken: string): Promise<TokenInfo> {
  const res = await graph.get<{ data?: Record<string, unknown> }>("debug_token", {
    token: appAccessToken(app),
    query: { input_token: inputToken },
    secrets: [inputToken, app.appSecret],
  });
  const d = res?.data;
  if (!d || typeof d !== "object")
    throw new GraphResponseError("debug_token answered without data", "GET debug_token", 200);
  const granular = Array.isArray(d.granular_scopes) ? d.granular_scopes : [];
  const err = d.error && typeof d.error === "object" ? (d.error as Record<string, unknown>) : null;
  return {
    isValid: d.is_valid === true,
    appId: graphId(d.app_id),
    type: typeof d.type === "string" ? d.type : null,
    application: typeof d.application === "string" ? d.application : null,
    userId: graphId(d.user_id),
    expiresAt: unixToDate(d.expires_at),
    dataAccessExpiresAt: unixToDate(d.data_access_expires_at),
    scopes: Array.isArray(d.scopes) ? d.scopes.map(String) : [],
    granularScopes: granular
      .filter(
        (g): g is Record<string, unknown> =>
          typeof g === "object" && g !== null && typeof (g as { scope?: unknown }).scope === "string",
      )
      .map((g) => ({
        scope: g.scope as string,
        targetIds: Array.isArray(g.target_ids) ? g.target_ids.map(String) : [],
      })),
    error: err
      ? {
          code: typeof err.code === "number" ? err.code : null,
          message: typeof err.message === "string" ? err.message : null,
          subcode: typeof err.subcode === "number" ? err.subcode : null,
        }
      : null,
  };
}

export const WHATSAPP_SCOPES = ["whatsapp_business_management", "whatsapp_business_messaging"] as const;

/**
 * The WABA ids a token was granted, from its granular scopes (management first, then messaging),
 * without duplicates. Empty when the customer granted none (or the scopes are not restricted to ids).
 */
export function grantedWabaIds(info: Pick<TokenInfo, "granularScopes">): string[] {
  const ids: string[] = [];
  for (const scope of WHATSAPP_SCOPES) {
    for (const g of info.granularScopes)
      if (g.scope === scope) for (const id of g.targetIds) if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

export interface PhoneNumberInfo {
  /** The phone_number_id. */
  id: string;
  displayPhoneNumber: string;
  verifiedName: string | null;
  qualityRating: string | null;
  codeVerificationStatus: string | null;
  /** CONNECTED once registered on the Cloud API; PENDING before. */
  status: string | null;
  /** CLOUD_API once registered on the Cloud API; NOT_APPLICABLE before; ON_PREMISE for the old API. */
  platformType: string | null;
  /** Messaging throughput level (STANDARD = 80 msg/s, HIGH = up to 1 000). */
  throughputLevel: string | null;
  /**
   * The business portfolio's messaging limit (`whatsapp_business_manager_messaging_limit`: unique
   * recipients per moving 24 h), -1 for unlimited; null when Meta did not say.
   */
  messagingLimit: number | null;
}

export const PHONE_NUMBER_FIELDS =
  "id,display_phone_number,verified_name,quality_rating,code_verification_status,status,platform_type,throughput,whatsapp_business_manager_messaging_limit";

/**
 * A messaging limit as Meta spells it: a tier (`TIER_250`, `TIER_2K`, `TIER_100K`, `TIER_UNLIMITED`),
 * a number, or an object holding `max_daily_conversations_per_business`. Null when none of these.
 */
export function parseMessagingLimit(value: unknown): number | null {
  if (typeof value === "number" && Number.isInteger(value) && value >= -1) return value;
  if (value && typeof value === "object")
    return parseMessagingLimit((value as Record<string, unknown>).max_daily_conversations_per_business);
  if (typeof value !== "string") return null;
  const v = value.trim().toUpperCase();
  if (/^-?\d+$/.test(v)) return Number(v);
  if (v === "TIER_UNLIMITED" || v === "UNLIMITED") return -1;
  const m = /^TIER_(\d+)(K?)$/.exec(v);
  return m ? Number(m[1]) * (m[2] ? 1000 : 1) : null;
}

function toPhoneNumber(p: Record<string, unknown>): PhoneNumberInfo {
  const throughput =
    p.throughput && typeof p.throughput === "object" ? (p.throughput as Record<string, unknown>) : null;
  const str = (v: unknown) => (typeof v === "string" && v ? v : null);
  return {
    id: String(p.id),
    displayPhoneNumber: str(p.display_phone_number) ?? "",
    verifiedName: str(p.verified_name),
    qualityRating: str(p.quality_rating),
    codeVerificationStatus: str(p.code_verification_status),
    status: str(p.status),
    platformType: str(p.platform_type),
    throughputLevel: str(throughput?.level),
    messagingLimit: parseMessagingLimit(p.whatsapp_business_manager_messaging_limit),
  };
}

/**
 * Whether the number still has to be registered on the Cloud API (`POST /{phone-id}/register`):
 * Meta moves a number's status from PENDING to CONNECTED, and its platform type to CLOUD_API, once it
 * is registered.
 */
export function needsRegistration(p: Pick<PhoneNumberInfo, "status" | "platformType">): boolean {
  if (p.platformType) return p.platformType !== "CLOUD_API";
  return p.status !== "CONNECTED";
}

/** `GET /{waba}/phone_numbers`, following `paging.cursors.after` (bounded: a WABA has few numbers). */
export async function listPhoneNumbers(graph: GraphClient, token: string, wabaId: string): Promise<PhoneNumberInfo[]> {
  const out: PhoneNumberInfo[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const res = await graph.get<{ data?: unknown[]; paging?: { cursors?: { after?: string }; next?: string } }>(
      graphPath(wabaId, "phone_numbers"),
      { token, query: { fields: PHONE_NUMBER_FIELDS, limit: 100, ...(after ? { after } : {}) } },
    );
    if (!Array.isArray(res?.data))
      throw new GraphResponseError("phone_numbers answered without data", `GET ${wabaId}/phone_numbers`, 200);
    for (const p of res.data)
      if (p && typeof p === "object" && (p as { id?: unknown }).id !== undefined)
        out.push(toPhoneNumber(p as Record<string, unknown>));
    after = res.paging?.next ? res.paging.cursors?.after : undefined;
    if (!after) break;
  }
  return out;
}

/** `GET /{phone-number-id}`. */
export async function getPhoneNumber(
  graph: GraphClient,
  token: string,
  phoneNumberId: string,
): Promise<PhoneNumberInfo> {
  const res = await graph.get<Record<string, unknown>>(graphPath(phoneNumberId), {
    token,
    query: { fields: PHONE_NUMBER_FIELDS },
  });
  if (!res || res.id === undefined)
    throw new GraphResponseError("the phone number answered without id", `GET ${phoneNumberId}`, 200);
  return toPhoneNumber(res);
}

/** `POST /{waba}/subscribed_apps`: our app receives the WABA's webhooks. Idempotent at Meta. */
export async function subscribeApp(graph: GraphClient, token: string, wabaId: string): Promise<boolean> {
  const res = await graph.post<{ success?: unknown }>(graphPath(wabaId, "subscribed_apps"), { token });
  return res?.success === true;
}

export interface SubscribedApp {
  id: string | null;
  name: string | null;
  link: string | null;
}

/** `GET /{waba}/subscribed_apps`. */
export async function listSubscribedApps(graph: GraphClient, token: string, wabaId: string): Promise<SubscribedApp[]> {
  const res = await graph.get<{ data?: Array<{ whatsapp_business_api_data?: Record<string, unknown> }> }>(
    graphPath(wabaId, "subscribed_apps"),
    { token },
  );
  return (res?.data ?? []).map((d) => {
    const a = d.whatsapp_business_api_data ?? {};
    return {
      id: graphId(a.id),
      name: typeof a.name === "string" ? a.name : null,
      link: typeof a.link === "string" ? a.link : null,
    };
  });
}

/** `DELETE /{waba}/subscribed_apps`: stop the WABA's webhooks to our app. */
export async function unsubscribeApp(graph: GraphClient, token: string, wabaId: string): Promise<boolean> {
  const res = await graph.delete<{ success?: unknown }>(graphPath(wabaId, "subscribed_apps"), { token });
  return res?.success === true;
}

/**
 * `POST /{phone-id}/register { messaging_product, pin }`: puts a number on the Cloud API. `pin` is the
 * six-digit two-step verification PIN (set by this call when the number has none yet).
 */
export async function registerPhoneNumber(
  graph: GraphClient,
  token: string,
  phoneNumberId: string,
  pin: string,
): Promise<boolean> {
  if (!/^\d{6}$/.test(pin)) throw new Error("the registration PIN must be six digits");
  const res = await graph.post<{ success?: unknown }>(graphPath(phoneNumberId, "register"), {
    token,
    json: { messaging_product: "whatsapp", pin },
    secrets: [pin],
  });
  return res?.success === true;
}
