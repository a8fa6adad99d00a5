import { toObjectId, type Database } from "@linkojob/db";
import type { RetentionPolicy } from "./retention-purge.js";

/** The periods a tenant may set, each over the deployment's default (RETENTION_*). */
export const RETENTION_FIELDS = ["webhookEventsDays", "deadLettersDays", "messagesMonths"] as const;
export type RetentionField = (typeof RETENTION_FIELDS)[number];

/** A tenant's own periods: a field absent takes the default; `null` keeps that data for ever. */
export type RetentionOverrides = Partial<Record<RetentionField, number | null>>;

/** A tenant's retention as the API shows it: the periods in force, its own settings and the defaults. */
export interface TenantRetentionView extends RetentionPolicy {
  clientId: string;
  /** What the tenant set (absent fields follow the defaults). */
  overrides: RetentionOverrides;
  defaults: RetentionPolicy;
}

/** The periods in force for a tenant: its own where it set one, the default elsewhere. */
export function effectiveRetention(defaults: RetentionPolicy, own?: RetentionOverrides | null): RetentionPolicy {
  const pick = (f: RetentionField) => (own && own[f] !== undefined ? own[f]! : defaults[f]);
  return {
    webhookEventsDays: pick("webhookEventsDays"),
    deadLettersDays: pick("deadLettersDays"),
    messagesMonths: pick("messagesMonths"),
  };
}

/** Only the known fields, numbers or null (what a stored document holds may be older or partial). */
function overridesOf(stored: unknown): RetentionOverrides {
  const out: RetentionOverrides = {};
  if (!stored || typeof stored !== "object") return out;
  for (const f of RETENTION_FIELDS) {
    const v = (stored as Record<string, unknown>)[f];
    if (v === null || (typeof v === "number" && Number.isInteger(v) && v > 0)) out[f] = v;
  }
  return out;
}

/**
 * A tenant's retention of personal data (the clients document's `retention`), read and set by the
 * API (`GET/PUT /api/clients/:clientId/retention`) and honoured by the retention purge at its next
 * run. Null when there is no such client.
 */
export class TenantRetention {
  constructor(
    private readonly db: Database,
    /** The deployment's defaults (RETENTION_*). */
    readonly defaults: RetentionPolicy,
  ) {}

  async get(clientId: string): Promise<TenantRetentionView | null> {
    const doc = await this.db.clients.findById(toObjectId(clientId, "clientId"), { retention: 1 }).lean();
    return doc ? this.view(clientId, overridesOf(doc.retention)) : null;
  }

  /** Replaces the tenant's own periods by `overrides` (an empty object: the defaults everywhere). */
  async set(clientId: string, overrides: RetentionOverrides): Promise<TenantRetentionView | null> {
    const own = overridesOf(overrides);
    const update = Object.keys(own).length ? { $set: { retention: own } } : { $unset: { retention: 1 } };
    const res = await this.db.clients.updateOne({ _id: toObjectId(clientId, "clientId") }, update);
    return res.matchedCount ? this.view(clientId, own) : null;
  }

  private view(clientId: string, overrides: RetentionOverrides): TenantRetentionView {
    return { clientId, ...effectiveRetention(this.defaults, overrides), overrides, defaults: this.defaults };
  }
}
