import type { SimState } from "../state.js";

/**
 * Meta's business-portfolio messaging limit as the simulator models it (meta-cloud-api.md §4): the
 * unique recipients of business-initiated messages (a template outside the recipient's service
 * window) in a moving 24 hours, shared by every number of the portfolio (its WABA here). Meta has
 * no error code for it: a send over the limit is accepted (200, a wamid), then reported `failed`
 * in a status webhook with the generic 131000, which is what the simulator does when enforcing.
 */
export const PORTFOLIO_AREA = "portfolio";

/** The code of the `failed` status of a message over the portfolio's limit (generic: Meta has none of its own). */
export const OVER_PORTFOLIO_LIMIT_CODE = 131000;

export interface PortfolioState {
  /** WABA → limit (-1 unlimited). A WABA not listed is not limited. */
  limits: Map<string, number>;
  /** Refuse (fail) sends over the limit. Default false: only when a test asks. */
  enforce: boolean;
  /** The moving window, ms (Meta's 24 h; tests may shorten it along with the gateway's). */
  windowMs: number;
  /** WABA → recipient → when they were last counted. */
  reached: Map<string, Map<string, number>>;
  /** Sends failed for being over a limit. */
  overLimit: Array<{ at: number; wabaId: string; to: string; wamid: string }>;
}

export const portfolioState = (state: SimState): PortfolioState =>
  state.area(PORTFOLIO_AREA, () => ({
    limits: new Map(),
    enforce: false,
    windowMs: 86_400_000,
    reached: new Map(),
    overLimit: [],
  }));

/** Unique recipients counted for a WABA in the window ending `now`. */
export function reachedCount(p: PortfolioState, wabaId: string, now = Date.now()): number {
  const reached = p.reached.get(wabaId);
  if (!reached) return 0;
  for (const [to, at] of reached) if (at <= now - p.windowMs) reached.delete(to);
  return reached.size;
}

/**
 * Counts a business-initiated send to `to` for `wabaId`. Returns false when it is over the limit
 * (and enforcement is on): the caller then fails it.
 */
export function admitBusinessInitiated(p: PortfolioState, wabaId: string, to: string, now = Date.now()): boolean {
  const limit = p.limits.get(wabaId);
  let reached = p.reached.get(wabaId);
  if (!reached) p.reached.set(wabaId, (reached = new Map<string, number>()));
  reachedCount(p, wabaId, now);
  if (reached.has(to)) return true;
  if (p.enforce && limit !== undefined && limit >= 0 && reached.size >= limit) return false;
  reached.set(to, now);
  return true;
}

/** How Meta names a limit in `whatsapp_business_manager_messaging_limit`. */
export function limitTier(limit: number | undefined): string | undefined {
  if (limit === undefined) return undefined;
  if (limit < 0) return "TIER_UNLIMITED";
  return limit >= 1000 && limit % 1000 === 0 ? `TIER_${limit / 1000}K` : `TIER_${limit}`;
}
