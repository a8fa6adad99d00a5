import { Types } from "mongoose";
import type { Logger } from "pino";
import { defineErrors } from "@linkojob/errors";
import {
  OPT_OUT_SCOPES,
  findCandidateConversation,
  type Database,
  type OptOutActor,
  type OptOutDoc,
  type OptOutKey,
  type OptOutScope,
  type OptOutScopeState,
  type OptOutSource,
} from "@linkojob/db";
import { EVENTS, candidateOptOut, type TypedDashboardEvents } from "@linkojob/events";
import { OptOutState, type OptOutView } from "./opt-out-state.js";
import { CANDIDATE_OPTED_OUT, optOutRefusal, type OptOutRefusal, type OptOutSendShape } from "./opt-out-rule.js";
import { optOutIntent } from "./opt-out-words.js";
import { hashedKeyOf } from "./hashed-identity.js";

/** A candidate as a change names them: every phone number and user id known for them. */
export interface CandidateRef {
  phones: string[];
  userIds: string[];
}

export interface OptOutChangeRequest {
  clientId: Types.ObjectId | string;
  candidate: CandidateRef;
  action: "opt_out" | "resume";
  scope: OptOutScope;
  source: Exclude<OptOutSource, "identity_change">;
  /** When it happened: Meta's timestamp for the candidate's word, a preference or a status; now for the API. */
  at: Date;
  /** Unique per tenant for one change (a webhook's or a job's replay records it once). */
  dedupeKey: string;
  wamid?: string | null;
  actor?: OptOutActor | null;
  reason?: string | null;
}

export interface OptOutChangeResult {
  changeId: Types.ObjectId;
  /** False when this change was recorded before (a redelivery): it was applied again, harmlessly. */
  created: boolean;
  /** The opt-out in force after the change, over every identity of the candidate. */
  optOut: OptOutView | null;
  conversationId: Types.ObjectId | null;
  keys: string[];
}

/**
 * The opt-out domain's error catalog: a change the register refuses, and a send refused because the
 * candidate opted out (CANDIDATE_OPTED_OUT, the code the send decision carries). The ingress maps
 * each code to a status.
 */
export class OptOutError extends defineErrors("OptOutError", {
  CANDIDATE_OWN_OPT_OUT: "the candidate set this opt-out themselves: only they can lift it",
  NO_CANDIDATE: "name the candidate by candidatePhone or candidateUserId",
  [CANDIDATE_OPTED_OUT]: "the candidate opted out of these messages",
}) {}

/** A candidate's own sources: only the candidate (a resume word, Meta's resume) lifts what they set. */
const ownerOf = (source: OptOutSource): OptOutScopeState["owner"] =>
  source === "recruiter" || source === "platform" ? "tenant" : "candidate";

/** Phone numbers are digits; anything else (a `CC.xxxx` business-scoped id) is a user id. */
const keyTypeOf = (key: string): OptOutKey["keyType"] => (/^\d+$/.test(key) ? "phone" : "user_id");

/** An inbound message as the register reads it (from the inbound worker's normalised event). */
export interface InboundForOptOut {
  clientId: Types.ObjectId;
  waId?: string;
  userId?: string;
  wamid: string;
  type: string;
  text: string | null;
  timestamp: Date;
  identityChange?: { kind: "phone" | "user_id"; to: string; from?: string; userId?: { to: string; from?: string } };
}

export interface OptOutRegisterDeps {
  db: Database;
  /** The register's copy in Redis (the send state). */
  state: OptOutState;
  /** `candidate:opt_out` to the tenant's dashboards. */
  events?: TypedDashboardEvents;
  logger?: Logger;
}

/**
 * The candidates' opt-out register, one home for every source: the candidate's own words, Meta's
 * `user_preferences` webhook, a 131050 failure, recruiters and the platform through the API, and
 * identity changes. Each change is recorded in the audit trail (once per dedupe key), applied to
 * every identity of the candidate in MongoDB (the latest change of a scope wins: deliveries are
 * unordered), copied to Redis for the send path, then announced (`candidate:opt_out`). Every step
 * is idempotent: a retried job or a redelivered webhook replays it harmlessly.
 */
export class OptOutRegister {
  constructor(private readonly deps: OptOutRegisterDeps) {}

  /** The register's copy in Redis. */
  get state(): OptOutState {
    return this.deps.state;
  }

  /**
   * Whether the candidate's opt-out forbids this send (opt-out-rule.ts), from Redis: one request, no
   * MongoDB once the send state is built. The send API answers 409 with it; the worker suppresses.
   */
  async refusalFor(
    clientId: string,
    candidate: { candidatePhone?: string | null; candidateUserId?: string | null },
    send: OptOutSendShape,
  ): Promise<OptOutRefusal | null> {
    const view = await this.deps.state.read(clientId, [candidate.candidatePhone, candidate.candidateUserId]);
    return optOutRefusal(view, send);
  }

  /**
   * Meta failed a message with 131050 (the candidate stopped marketing messages): a `marketing`
   * opt-out under the candidate's identities. `key` names the failure once (the wamid, or our message id).
   */
  async marketingStoppedByMeta(input: {
    clientId: Types.ObjectId | string;
    phone?: string | null;
    userId?: string | null;
    at: Date;
    key: string;
    wamid?: string | null;
  }): Promise<OptOutChangeResult | null> {
    if (!input.phone && !input.userId) return null;
    return this.change({
      clientId: input.clientId,
      candidate: { phones: input.phone ? [input.phone] : [], userIds: input.userId ? [input.userId] : [] },
      action: "opt_out",
      scope: "marketing",
      source: "meta_131050",
      at: input.at,
      dedupeKey: `131050:${input.key}`,
      wamid: input.wamid ?? null,
      reason: "Meta: the user stopped marketing messages (131050)",
    });
  }

  /** Records one change. A tenant's resume (recruiter, platform) never lifts the candidate's own opt-out. */
  async change(req: OptOutChangeRequest): Promise<OptOutChangeResult> {
    const clientId = new Types.ObjectId(String(req.clientId));
    const repo = this.deps.db.optOutsOf(clientId);
    const { keys, conversationId } = await this.identitiesOf(clientId, req.candidate);
    if (!keys.length) throw new OptOutError("NO_CANDIDATE", "name the candidate by candidatePhone or candidateUserId");
    await this.restoreHashed(clientId, keys);
    const owner = ownerOf(req.source);
    if (req.action === "resume" && owner === "tenant") {
      const docs = await repo.find(keys);
      if (docs.some((d) => d[req.scope]?.active && d[req.scope]?.owner === "candidate"))
        throw new OptOutError(
          "CANDIDATE_OWN_OPT_OUT",
          `the candidate set this ${req.scope} opt-out themselves: only they can lift it (START, REPRENDRE, or WhatsApp's marketing setting)`,
        );
    }
    const { change, created } = await repo.recordChange({
      dedupeKey: req.dedupeKey,
      action: req.action,
      scope: req.scope,
      source: req.source,
      keys,
      wamid: req.wamid ?? null,
      actor: req.actor ?? null,
      reason: req.reason ?? null,
      at: req.at,
    });
    await repo.applyScope(
      keys.map((key) => ({ key, keyType: keyTypeOf(key) })),
      req.scope,
      { active: req.action === "opt_out", at: change.at, source: req.source, owner, changeId: change._id },
      // Checked above for the answer; guarded here against a STOP landing meanwhile.
      req.action === "resume" && owner === "tenant" ? "candidate" : undefined,
    );
    const docs = await repo.find(keys);
    await this.deps.state.write(clientId, docs);
    const optOut = viewOfDocs(docs);
    this.announce(clientId, conversationId, req.candidate, optOut?.scope ?? null, {
      action: req.action,
      scope: req.scope,
      source: req.source,
      at: change.at,
      wamid: req.wamid ?? null,
      actor: req.actor ?? null,
      reason: req.reason ?? null,
    });
    return { changeId: change._id, created, optOut, conversationId, keys };
  }

  /**
   * Acts on a batch of stored inbound messages: a message that is an opt-out or resume word (the
   * whole message, normalised) stops or resumes everything (scope `all`); an identity change carries
   * the register's state to the new number or user id. Other messages cost nothing.
   */
  async fromInbound(messages: InboundForOptOut[]): Promise<number> {
    let changes = 0;
    for (const m of messages) {
      if (m.identityChange) {
        await this.followIdentityChange(m);
        continue;
      }
      if (m.type !== "text" && m.type !== "button") continue;
      const intent = optOutIntent(m.text);
      if (!intent) continue;
      await this.change({
        clientId: m.clientId,
        candidate: { phones: m.waId ? [m.waId] : [], userIds: m.userId ? [m.userId] : [] },
        action: intent,
        scope: "all",
        source: "candidate_message",
        at: m.timestamp,
        dedupeKey: `message:${m.wamid}`,
        wamid: m.wamid,
      });
      changes++;
    }
    return changes;
  }

  /**
   * A candidate changed number or user id: whatever the register holds for their previous
   * identities (and the ones that did not change) now holds for the new ones too, with the same
   * source, owner and time, so the opt-out survives the change. Recorded in the audit trail.
   */
  private async followIdentityChange(m: InboundForOptOut): Promise<void> {
    const change = m.identityChange!;
    const next = [change.to, change.userId?.to].filter((k): k is string => !!k);
    const previous = [change.from, change.userId?.from, m.waId, m.userId].filter(
      (k): k is string => !!k && !next.includes(k),
    );
    if (!previous.length || !next.length) return;
    await this.restoreHashed(m.clientId, previous);
    const repo = this.deps.db.optOutsOf(m.clientId);
    const docs = await repo.find(previous);
    if (!docs.length) return;
    for (const scope of ["all", "marketing"] as const) {
      // The latest state of the scope over the previous identities, lifted ones included (a resume carries too).
      const latest = docs
        .map((d) => d[scope])
        .filter((s): s is OptOutScopeState => !!s)
        .sort((a, b) => new Date(b.at).getTime() - new Date(a.at).getTime())[0];
      if (!latest) continue;
      await repo.recordChange({
        dedupeKey: `identity:${m.wamid}:${scope}`,
        action: latest.active ? "opt_out" : "resume",
        scope,
        source: "identity_change",
        keys: next,
        wamid: m.wamid,
        actor: null,
        reason: `carried from the candidate's previous ${change.kind === "phone" ? "number" : "user id"}`,
        at: m.timestamp,
      });
      await repo.applyScope(
        next.map((key) => ({ key, keyType: keyTypeOf(key) })),
        scope,
        latest,
      );
    }
    const after = await repo.find(next);
    await this.deps.state.write(m.clientId, after);
    this.deps.logger?.info(
      { clientId: m.clientId.toHexString(), scope: viewOfDocs(after)?.scope ?? null },
      "opt-out carried to the candidate's new identity",
    );
  }

  /** The tenant's identities with an opt-out in force, newest first (the API's list). */
  listActive(clientId: Types.ObjectId, limit: number, after?: { updatedAt: Date; id: Types.ObjectId }) {
    return this.deps.db.optOutsOf(clientId).listActive(limit, after);
  }

  /** What the register holds for a candidate, from MongoDB (the API's view), with the latest changes. */
  async status(clientId: Types.ObjectId, candidate: CandidateRef) {
    const repo = this.deps.db.optOutsOf(clientId);
    const { keys, conversationId } = await this.identitiesOf(clientId, candidate);
    // With their keyed hashes: what an erasure kept of the candidate's opt-out (refused at send time too).
    const all = this.deps.state.lookupKeys(keys);
    const docs = await repo.find(all);
    return { keys, conversationId, docs, optOut: viewOfDocs(docs), changes: await repo.changesOf(all, 20) };
  }

  /**
   * The candidate is named in clear again (a change of their opt-out, a number change): what an
   * erasure kept of their opt-out under these identities' keyed hashes is restored in clear (the
   * latest change of each scope wins) and the hashed documents removed, so that the register holds
   * one state per identity and their own START lifts it as before. One find when there is nothing.
   */
  private async restoreHashed(clientId: Types.ObjectId, keys: string[]): Promise<void> {
    const hasher = this.deps.state.hasher;
    if (!hasher || !keys.length) return;
    const repo = this.deps.db.optOutsOf(clientId);
    const clearOf = new Map(keys.map((k) => [hashedKeyOf(hasher, k), k]));
    const hashed = await repo.find([...clearOf.keys()]);
    if (!hashed.length) return;
    for (const h of hashed) {
      const key = clearOf.get(h.key)!;
      for (const scope of OPT_OUT_SCOPES) {
        const s = h[scope];
        if (s) await repo.applyScope([{ key, keyType: keyTypeOf(key) }], scope, s);
      }
    }
    await this.deps.state.write(clientId, await repo.find(keys));
    await this.deps.state.remove(
      clientId,
      hashed.map((h) => h.key),
    );
    await repo.removeKeys(hashed.map((h) => h.key));
  }

  /** Every identity the candidate is known by: the ones named, and their conversation's. */
  private async identitiesOf(
    clientId: Types.ObjectId,
    candidate: CandidateRef,
  ): Promise<{ keys: string[]; conversationId: Types.ObjectId | null }> {
    const conversation = await findCandidateConversation(this.deps.db.conversations, clientId, candidate);
    const keys = new Set([...candidate.phones, ...candidate.userIds]);
    if (conversation?.candidatePhone) keys.add(conversation.candidatePhone);
    if (conversation?.candidateUserId) keys.add(conversation.candidateUserId);
    return { keys: [...keys], conversationId: conversation?._id ?? null };
  }

  private announce(
    clientId: Types.ObjectId,
    conversationId: Types.ObjectId | null,
    candidate: CandidateRef,
    scope: OptOutScope | null,
    change: Parameters<typeof candidateOptOut>[0]["change"],
  ): void {
    this.deps.events?.toClient(
      clientId.toHexString(),
      EVENTS.candidateOptOut,
      candidateOptOut({
        clientId: clientId.toHexString(),
        conversationId: conversationId?.toHexString() ?? null,
        candidatePhone: candidate.phones[0] ?? null,
        candidateUserId: candidate.userIds[0] ?? null,
        scope,
        change,
      }),
    );
  }
}

/** The strongest opt-out in force over these identities' documents. */
export function viewOfDocs(docs: Array<Pick<OptOutDoc, "all" | "marketing">>): OptOutView | null {
  const pick = (scope: OptOutScope) => {
    const s = docs.map((d) => d[scope]).find((x) => x?.active);
    return s ? { source: s.source, at: new Date(s.at).toISOString(), owner: s.owner } : null;
  };
  const all = pick("all");
  const marketing = pick("marketing");
  if (!all && !marketing) return null;
  return { scope: all ? "all" : "marketing", all, marketing };
}
