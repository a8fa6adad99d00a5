import { randomBytes, randomInt } from "node:crypto";
import type { SimState } from "../state.js";

/**
 * The fake Meta world of tenant onboarding (Embedded Signup): businesses with their WABA and phone
 * numbers, authorization codes, business tokens, webhook subscriptions, and the failure modes tests
 * switch on. Kept in SimState under the "onboarding" area.
 */
export const ONBOARDING_AREA = "onboarding";

export interface SimPhoneNumber {
  id: string;
  /** As Meta shows it, e.g. "+212 6 12 34 56 78". */
  displayPhoneNumber: string;
  verifiedName: string;
  qualityRating: string;
  codeVerificationStatus: string;
  /** Registered on the Cloud API (status CONNECTED, platform CLOUD_API). */
  registered: boolean;
  /** The two-step verification PIN, once set (by the first registration). */
  pin: string | null;
  throughputLevel: string;
}

export interface SimBusiness {
  businessId: string;
  wabaId: string;
  name: string;
  phoneNumbers: SimPhoneNumber[];
  /** Lifetime of the tokens issued for this business, in seconds; 0 = never expires. */
  tokenValiditySeconds: number;
}

export interface SimCode {
  wabaIds: string[];
  /** The app debug_token names for the token this code exchanges for (default: the simulator's app). */
  appId?: string;
  redirectUri: string | null;
  /** Epoch ms after which the exchange answers "expired". */
  expiresAt: number;
  used: boolean;
}

export interface SimToken {
  wabaIds: string[];
  /** Unix seconds; 0 = never. */
  expiresAt: number;
  issuedAt: number;
  revoked: boolean;
  type: "SYSTEM_USER" | "USER";
  /** The app debug_token names (default: the simulator's app); another id plays a token of a foreign app. */
  appId?: string;
}

/** The simulated Graph routes that failure modes can target. */
export const ONBOARDING_ROUTES = [
  "dialog",
  "access_token",
  "debug_token",
  "phone_numbers",
  "subscribed_apps",
  "register",
] as const;
export type OnboardingRoute = (typeof ONBOARDING_ROUTES)[number];

export interface SimFault {
  status: number;
  code: number;
  subcode?: number;
  message: string;
  type: string;
  details?: string;
  /** How many calls still fail (Infinity: until cleared). */
  remaining: number;
}

export interface NextApproval {
  /** The WABAs the next dialog grants (default: the business seeded last). */
  wabaIds?: string[];
  /** The recruiter cancels the dialog: redirect with error=access_denied. */
  deny?: boolean;
  /** debug_token names this app for the resulting token (a foreign app's token). */
  appId?: string;
}

export interface OnboardingSimState {
  businesses: Map<string, SimBusiness>;
  codes: Map<string, SimCode>;
  tokens: Map<string, SimToken>;
  /** WABA id → app ids subscribed to its webhooks. */
  subscriptions: Map<string, Set<string>>;
  /** One-shot: what the next dialog does. */
  nextApproval: NextApproval | null;
  settings: {
    /** Lifetime of authorization codes (Meta: about 30 s); 0 makes every new code already expired. */
    codeTtlSeconds: number;
    /** Which field the code exchange puts the token in (Meta documents both). */
    tokenField: "access_token" | "business_token";
  };
  faults: Map<OnboardingRoute, SimFault>;
  /** Extra latency per route, in ms (slow answers). */
  delays: Map<OnboardingRoute, number>;
  lastSeededWabaId: string | null;
}

export const onboardingState = (state: SimState): OnboardingSimState =>
  state.area<OnboardingSimState>(ONBOARDING_AREA, () => ({
    businesses: new Map(),
    codes: new Map(),
    tokens: new Map(),
    subscriptions: new Map(),
    nextApproval: null,
    settings: { codeTtlSeconds: 30, tokenField: "access_token" },
    faults: new Map(),
    delays: new Map(),
    lastSeededWabaId: null,
  }));

/** A numeric Graph id of `length` digits (Meta's ids are numeric strings). */
const numericId = (length = 15) =>
  String(randomInt(1, 10)) + Array.from({ length: length - 1 }, () => randomInt(0, 10)).join("");

/** A Moroccan mobile number, as digits and as Meta displays it. */
function fakeMoroccanNumber(): { digits: string; display: string } {
  const rest = Array.from({ length: 8 }, () => randomInt(0, 10)).join("");
  return { digits: `2126${rest}`, display: `+212 6${rest.slice(0, 2)}-${rest.slice(2, 5)}${rest.slice(5)}` };
}

export interface SeedPhoneNumberInput {
  id?: string;
  displayPhoneNumber?: string;
  verifiedName?: string;
  qualityRating?: string;
  /** Default false: Embedded Signup usually brings a number that still has to be registered. */
  registered?: boolean;
  pin?: string | null;
}

export interface SeedBusinessInput {
  wabaId?: string;
  businessId?: string;
  name?: string;
  /** Default: one unregistered number. */
  phoneNumbers?: SeedPhoneNumberInput[];
  /** Default 0: tokens never expire (system-user business integration tokens). */
  tokenValiditySeconds?: number;
}

/** Creates (or replaces) a fake business: its WABA, its phone numbers, how long its tokens live. */
export function seedBusiness(state: SimState, input: SeedBusinessInput = {}): SimBusiness {
  const s = onboardingState(state);
  const name = input.name ?? `Recruiter ${randomBytes(2).toString("hex")}`;
  const numbers = (input.phoneNumbers ?? [{}]).map((p): SimPhoneNumber => {
    const fake = fakeMoroccanNumber();
    return {
      id: p.id ?? numericId(15),
      displayPhoneNumber: p.displayPhoneNumber ?? fake.display,
      verifiedName: p.verifiedName ?? name,
      qualityRating: p.qualityRating ?? "GREEN",
      codeVerificationStatus: "VERIFIED",
      registered: p.registered ?? false,
      pin: p.pin ?? null,
      throughputLevel: "STANDARD",
    };
  });
  const business: SimBusiness = {
    businessId: input.businessId ?? numericId(15),
    wabaId: input.wabaId ?? numericId(15),
    name,
    phoneNumbers: numbers,
    tokenValiditySeconds: input.tokenValiditySeconds ?? 0,
  };
  s.businesses.set(business.wabaId, business);
  s.lastSeededWabaId = business.wabaId;
  return business;
}

/** An authorization code, as the dialog or the JavaScript SDK would hand it to the page. */
export function issueCode(
  state: SimState,
  input: { wabaIds?: string[]; redirectUri?: string | null; expired?: boolean; appId?: string } = {},
): string {
  const s = onboardingState(state);
  const code = `AQ${randomBytes(24).toString("base64url")}`;
  const wabaIds = input.wabaIds ?? (s.lastSeededWabaId ? [s.lastSeededWabaId] : []);
  const ttl = input.expired ? -1 : s.settings.codeTtlSeconds;
  s.codes.set(code, {
    wabaIds,
    redirectUri: input.redirectUri ?? null,
    expiresAt: Date.now() + ttl * 1000,
    used: false,
    ...(input.appId ? { appId: input.appId } : {}),
  });
  return code;
}

/** A business token granting `wabaIds` (for the code exchange, and for manual-connection tests). */
export function issueToken(
  state: SimState,
  input: { wabaIds: string[]; expiresInSeconds?: number; appId?: string },
): string {
  const s = onboardingState(state);
  const validity =
    input.expiresInSeconds ?? Math.max(0, ...input.wabaIds.map((w) => s.businesses.get(w)?.tokenValiditySeconds ?? 0));
  const now = Math.floor(Date.now() / 1000);
  const token = `EAAS${randomBytes(36).toString("base64url")}`;
  s.tokens.set(token, {
    wabaIds: [...input.wabaIds],
    expiresAt: validity > 0 ? now + validity : 0,
    issuedAt: now,
    revoked: false,
    type: "SYSTEM_USER",
    ...(input.appId ? { appId: input.appId } : {}),
  });
  return token;
}

/** Revokes one token, or every token granting a WABA (the recruiter removed our app). Returns how many. */
export function revokeTokens(state: SimState, input: { token?: string; wabaId?: string }): number {
  let n = 0;
  for (const [value, t] of onboardingState(state).tokens) {
    if (t.revoked) continue;
    if ((input.token && value === input.token) || (input.wabaId && t.wabaIds.includes(input.wabaId))) {
      t.revoked = true;
      n++;
    }
  }
  return n;
}

/** The business owning a phone number id. */
export function businessOfNumber(
  state: SimState,
  phoneNumberId: string,
): { business: SimBusiness; number: SimPhoneNumber } | null {
  for (const business of onboardingState(state).businesses.values()) {
    const number = business.phoneNumbers.find((p) => p.id === phoneNumberId);
    if (number) return { business, number };
  }
  return null;
}

/** Meta's error body. */
export function graphErrorBody(e: {
  code: number;
  message: string;
  type?: string;
  subcode?: number;
  details?: string;
}) {
  return {
    error: {
      message: e.message,
      type: e.type ?? "OAuthException",
      code: e.code,
      ...(e.subcode !== undefined ? { error_subcode: e.subcode } : {}),
      ...(e.details !== undefined ? { error_data: { messaging_product: "whatsapp", details: e.details } } : {}),
      fbtrace_id: randomBytes(8).toString("base64url"),
    },
  };
}
