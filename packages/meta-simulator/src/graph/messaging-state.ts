import type { SimState } from "../state.js";
import { newUserDirectory, type UserDirectory } from "./user-directory.js";
import { SERVICE_BILLED_FROM } from "../webhooks/payloads.js";

/**
 * The simulator's messaging world: what it accepted and refused, the faults to inject, and Meta's
 * limits it enforces (80 messages/s per number by default, about one message per 6 s to one
 * recipient). Tests read it in-process through `messagingState`, the demo and benchmarks through
 * /_sim/messaging/*.
 */
export const MESSAGING_AREA = "messaging";

export interface AcceptedMessage {
  at: number;
  wamid: string;
  phoneNumberId: string;
  /** The phone number the send named (`to`); "" when it named only a user id (`recipient`). */
  to: string;
  /** The recipient's business-scoped user id: the `recipient` sent, or the one Meta knows for `to`. */
  recipientUserId?: string;
  type: string;
  body: Record<string, unknown>;
  bizOpaque: string | null;
  /** True when the simulator accepted it but dropped its answer (lost-response fault). */
  answerLost: boolean;
}

export interface RejectedMessage {
  at: number;
  phoneNumberId: string;
  to: string;
  code: number;
  httpStatus: number;
  cause: "fault" | "storm" | "throughput" | "pair_rate" | "auth" | "invalid" | "unknown_user" | "template" | "blocked";
}

export interface RecipientFault {
  /** Meta error code to answer with. */
  code: number;
  httpStatus?: number;
  /** Only for these message types (e.g. ["text"] for 131047); all when absent. */
  types?: string[];
  /** How many requests get it (then it clears); forever when absent. */
  times?: number;
  /** Accept the message, then report this code in a `failed` status webhook instead of answering an error. */
  async?: boolean;
}

export interface MessagingLimits {
  /** Messages per second per business number when not set per number (Meta's default 80). */
  defaultMps: number;
  mpsByNumber: Map<string, number>;
  /** Pair rate as a token bucket: `pairBurst` messages at once, then one per `pairIntervalMs`. */
  pairBurst: number;
  pairIntervalMs: number;
  /** Refuse over-limit sends with 130429 / 131056 like Meta (default true). */
  enforce: boolean;
}

export interface MessagingFaults {
  byRecipient: Map<string, RecipientFault>;
  /** A share of all sends (0..1) answered with one of `codes` (5xx / 429 / transient codes). */
  storm: { rate: number; codes: number[] } | null;
  /** Added to every answer (ms). */
  latencyMs: number;
  /** The next N sends to a recipient hang without answer (not accepted): the caller times out. */
  hangFor: Map<string, number>;
  /** The next N sends to a recipient are accepted, then the connection is cut before the answer. */
  loseAnswerFor: Map<string, number>;
  /** A share of all sends (0..1) accepted with their answer lost. */
  loseAnswerRate: number;
}

export interface StatusFlow {
  /** Deliver sent → delivered → read status webhooks after each accepted send (default true). */
  enabled: boolean;
  /** Wait before each status (ms). */
  stepDelayMs: number;
  /** Also send `delivered` (default true). Meta may skip it when the message is read at once. */
  delivered: boolean;
  /** Also send `read` (default true). */
  read: boolean;
}

/**
 * Checks the simulator makes like Meta, each off unless the simulator was created with it
 * (SimulatorOptions) or told to (PUT /_sim/messaging/enforcement). Existing harnesses seed
 * conversations straight into MongoDB, which the simulator cannot know about.
 */
export interface Enforcement {
  /** Free-form sends need the recipient's 24-hour window open (else a `failed` status with 131047); a `recipient` user id never seen fails with 131062. */
  window: boolean;
  /** Template sends must match the components of a template the simulator knows (132000, 132012), approved (132001, 132015, 132016). */
  templateParams: boolean;
}

export interface MessagingState {
  accepted: AcceptedMessage[];
  rejected: RejectedMessage[];
  faults: MessagingFaults;
  limits: MessagingLimits;
  buckets: Map<string, { tokens: number; at: number }>;
  statusFlow: StatusFlow;
  /** phone_number_id → WABA (for the envelope of status webhooks). */
  numbers: Map<string, string>;
  /** Tokens that answer 190. */
  revokedTokens: Set<string>;
  /** Templates per WABA, served by GET /{waba}/message_templates. */
  templates: Map<string, SimTemplate[]>;
  /** Status webhooks delivered / failed to deliver. */
  statusDeliveries: { ok: number; failed: number };
  /** Promises of status flows in progress (tests await them). */
  inFlight: Set<Promise<void>>;
  /** The WhatsApp users it knows and their windows, learnt from its own deliveries. */
  users: UserDirectory;
  /** Set by PUT /_sim/messaging/enforcement; unset follows the simulator's options. */
  enforcement: Partial<Enforcement>;
  /**
   * From when (ms) service messages and in-window utility templates are billed (`regular`): Meta's
   * 2026-10-01 by default (SERVICE_BILLED_FROM); a test sets it later to replay the earlier rule.
   */
  serviceBilledFrom: number;
}

export interface SimTemplate {
  id: string;
  name: string;
  language: string;
  status: string;
  category: string;
  components: Array<{ type: string; format?: string; text?: string; [k: string]: unknown }>;
  /** NAMED when the placeholders are names ({{first_name}}); POSITIONAL ({{1}}) otherwise. */
  parameter_format?: string;
}

export function newMessagingState(): MessagingState {
  return {
    accepted: [],
    rejected: [],
    faults: {
      byRecipient: new Map(),
      storm: null,
      latencyMs: 0,
      hangFor: new Map(),
      loseAnswerFor: new Map(),
      loseAnswerRate: 0,
    },
    limits: { defaultMps: 80, mpsByNumber: new Map(), pairBurst: 3, pairIntervalMs: 6_000, enforce: true },
    buckets: new Map(),
    statusFlow: { enabled: true, stepDelayMs: 0, delivered: true, read: true },
    numbers: new Map(),
    revokedTokens: new Set(),
    templates: new Map(),
    statusDeliveries: { ok: 0, failed: 0 },
    inFlight: new Set(),
    users: newUserDirectory(),
    enforcement: {},
    serviceBilledFrom: SERVICE_BILLED_FROM,
  };
}

export const messagingState = (state: SimState): MessagingState => state.area(MESSAGING_AREA, newMessagingState);

/** Token bucket: `capacity` at once, refilled at `perMs` per token. Returns false when empty. */
export function takeToken(s: MessagingState, key: string, capacity: number, perMs: number, now = Date.now()): boolean {
  const b = s.buckets.get(key) ?? { tokens: capacity, at: now };
  b.tokens = Math.min(capacity, b.tokens + (now - b.at) / perMs);
  b.at = now;
  s.buckets.set(key, b);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

export interface RateStats {
  accepted: number;
  /** Most accepted sends of one number in any 1-second window. */
  maxPerSecondByNumber: Record<string, number>;
  /** Most accepted sends to one recipient (per number) in any `windowMs` window. */
  maxPerPairWindow: number;
  pairWindowMs: number;
  rejectedByCode: Record<string, number>;
  rejectedByCause: Record<string, number>;
}

/** Most events in any half-open window [t, t + windowMs) over sorted times. */
export function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

export function rateStats(s: MessagingState, pairWindowMs = s.limits.pairIntervalMs): RateStats {
  const byNumber = new Map<string, number[]>();
  const byPair = new Map<string, number[]>();
  for (const m of s.accepted) {
    (byNumber.get(m.phoneNumberId) ?? byNumber.set(m.phoneNumberId, []).get(m.phoneNumberId)!).push(m.at);
    const k = `${m.phoneNumberId}|${m.to}`;
    (byPair.get(k) ?? byPair.set(k, []).get(k)!).push(m.at);
  }
  const maxPerSecondByNumber: Record<string, number> = {};
  for (const [n, times] of byNumber) maxPerSecondByNumber[n] = maxInWindow(times, 1_000);
  let maxPerPairWindow = 0;
  for (const times of byPair.values()) maxPerPairWindow = Math.max(maxPerPairWindow, maxInWindow(times, pairWindowMs));
  const rejectedByCode: Record<string, number> = {};
  const rejectedByCause: Record<string, number> = {};
  for (const r of s.rejected) {
    rejectedByCode[r.code] = (rejectedByCode[r.code] ?? 0) + 1;
    rejectedByCause[r.cause] = (rejectedByCause[r.cause] ?? 0) + 1;
  }
  return {
    accepted: s.accepted.length,
    maxPerSecondByNumber,
    maxPerPairWindow,
    pairWindowMs,
    rejectedByCode,
    rejectedByCause,
  };
}

/** Waits until every status flow started so far has delivered its webhooks. */
export async function settleStatusFlows(s: MessagingState): Promise<void> {
  while (s.inFlight.size) await Promise.allSettled([...s.inFlight]);
}
