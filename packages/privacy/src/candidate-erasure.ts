import { Queue } from "bullmq";
import { Types } from "mongoose";
import type { Logger } from "pino";
import {
  IDENTITY_PROJECTION,
  identityClauses,
  matchScore,
  type CandidateIds,
  type Database,
  type ErasureDoc,
  type StoredIdentity,
} from "@linkojob/db";
import type { DashboardEvents } from "@linkojob/events";
import {
  MEDIA_FETCH_QUEUE,
  OUTBOUND_CAMPAIGN_QUEUE,
  OUTBOUND_QUEUE,
  RECEIPT_QUEUE,
  WEBHOOK_QUEUE,
  ingressStreamKey,
  sendStreamKey,
  type RedisClient,
} from "@linkojob/queues";
import type { IdentifierHasher } from "./keyed-hash.js";
import { NO_OPT_OUT, type OptOutKeeper } from "./opt-out-keeper.js";
import { jobsNaming, namesAny, scanKeys, streamEntriesNaming } from "./redis-scan.js";
import {
  deleteConversation,
  deleteMediaFiles,
  fileIdsIn,
  keepCostRows,
  yieldToLiveTraffic,
} from "./conversation-removal.js";

/** Something that names the person is still on its way (a delivery not stored yet, a send in flight): retry later. */
export class ErasureInFlightError extends Error {
  readonly code = "ERASURE_IN_FLIGHT";
  constructor(what: string) {
    super(`waiting for ${what} naming the candidate to finish`);
    this.name = "ErasureInFlightError";
  }
}

export interface CandidateErasureDeps {
  db: Database;
  redis: RedisClient;
  /** The deployment's key prefix (QUEUE_PREFIX). */
  prefix: string;
  events: DashboardEvents;
  hasher: IdentifierHasher;
  logger: Pick<Logger, "info" | "warn">;
  /** What must survive as a keyed hash (the opt-out). Default: nothing to keep. */
  optOut?: OptOutKeeper;
  /** Documents read or deleted per request. Default 200. */
  batchSize?: number;
  /** Told how many of each collection were removed (lj_erased_total). */
  onRemoved?: (collection: string, count: number) => void;
}

/** The queues whose jobs may name a candidate (their data, results or failures). */
const SCANNED_QUEUES = [
  WEBHOOK_QUEUE,
  OUTBOUND_QUEUE,
  OUTBOUND_CAMPAIGN_QUEUE,
  MEDIA_FETCH_QUEUE,
  RECEIPT_QUEUE,
] as const;

/** The steps, in order; each is idempotent and recorded in `steps` once done. */
export const ERASURE_STEPS = [
  "opt-out",
  "campaign-recipients",
  "queues",
  "pending-statuses",
  "webhook-events",
  "media",
  "costs",
  "messages",
  "redis-keys",
] as const;
type Step = (typeof ERASURE_STEPS)[number];

/** What the steps need to know of the person, gathered afresh by each run from what is still stored. */
interface Footprint {
  clientIds: Types.ObjectId[];
  ids: CandidateIds;
  /**
   * Numbers the person held before (their conversations' creation keys, the numbers identity changes
   * name): searched for in records and Redis keys, never used to find conversations, since a number
   * given up may now be someone else's, whose conversation must not be erased.
   */
  formerPhones: string[];
  conversations: Array<{ _id: Types.ObjectId; clientId: Types.ObjectId }>;
  messageIds: Types.ObjectId[];
  wamids: string[];
  fileIds: Types.ObjectId[];
  /** Every string that marks a record as theirs: identifiers, wamids, our ids of their messages and conversations. */
  needles: string[];
}

/**
 * Erases one candidate's data (law 09-08, GDPR art. 17), as a BullMQ job: resolves every identity of
 * the person through identity changes, then deletes their messages, conversations, media files,
 * pending sends and their jobs, pending statuses, webhook events and dead letters, stream entries,
 * job records and Redis keys that name them, and tells dashboards (`conversation:deleted`). What
 * survives does so without the identity in clear: the cost rows (erased_costs, anonymised) and the
 * opt-out (a keyed hash, through OptOutKeeper).
 *
 * Resumable: every step is idempotent and recorded in the erasure document; a run that stops halfway
 * (a crash, a delivery still on its way naming the person) is finished by the job's next attempt.
 */
export class CandidateErasure {
  private readonly batch: number;
  private readonly optOut: OptOutKeeper;

  constructor(private readonly deps: CandidateErasureDeps) {
    this.batch = deps.batchSize ?? 200;
    this.optOut = deps.optOut ?? NO_OPT_OUT;
  }

  /** Runs (or resumes) an erasure to its end. Throws to be retried; returns the finished document. */
  async run(erasureId: Types.ObjectId): Promise<ErasureDoc | null> {
    const db = this.deps.db;
    const doc = await db.erasures.findOneAndUpdate(
      { _id: erasureId, status: { $ne: "done" } },
      { $inc: { attempts: 1 }, $set: { status: "running" } },
      { new: true },
    );
    if (!doc) return db.erasures.findById(erasureId).lean();
    if (!doc.subject) throw new Error("erasure without a subject");
    const fp = await this.footprint(doc.clientIds, doc.allTenants, doc.subject);
    // The resolved identities are what a retry must erase too (a number changed since, the conversation gone).
    await db.erasures.updateOne({ _id: erasureId }, { $set: { subject: fp.ids } });
    const done = new Set(doc.steps);
    for (const step of ERASURE_STEPS) {
      if (done.has(step)) continue;
      const removed = await this.runStep(step, fp);
      const inc = Object.fromEntries(Object.entries(removed).map(([k, v]) => [`removed.${k}`, v]));
      await db.erasures.updateOne({ _id: erasureId }, { $addToSet: { steps: step }, $inc: inc });
      for (const [collection, n] of Object.entries(removed)) if (n > 0) this.deps.onRemoved?.(collection, n);
    }
    await db.erasures.updateOne(
      { _id: erasureId },
      { $set: { status: "done", finishedAt: new Date(), error: null }, $unset: { subject: 1 } },
    );
    this.deps.logger.info({ erasureId: erasureId.toHexString() }, "candidate erasure done");
    return db.erasures.findById(erasureId).lean();
  }

  /** Records that the erasure gave up (its attempts ran out), without any identifier in the reason. */
  async markFailed(erasureId: Types.ObjectId, err: unknown): Promise<void> {
    const code = (err as { code?: unknown })?.code;
    await this.deps.db.erasures.updateOne(
      { _id: erasureId },
      {
        $set: {
          status: "failed",
          finishedAt: new Date(),
          error: {
            code: typeof code === "string" ? code : "ERASURE_FAILED",
            message: err instanceof ErasureInFlightError ? err.message : "the erasure stopped; ask again to resume it",
          },
        },
      },
    );
  }

  /**
   * The person as stored now: their conversations in the erasure's tenants, found by every phone and
   * user id known for them (expanded through the conversations' current ids and the identity changes
   * their messages recorded, until nothing new appears), their messages' ids, wamids and files.
   */
  private async footprint(clientIds: Types.ObjectId[], allTenants: boolean, subject: CandidateIds): Promise<Footprint> {
    const db = this.deps.db;
    const tenants = allTenants ? (await db.clients.find({}, { _id: 1 }).lean()).map((c) => c._id) : clientIds;
    const ids: CandidateIds = { phones: [...new Set(subject.phones)], userIds: [...new Set(subject.userIds)] };
    const conversations = new Map<string, StoredIdentity & { clientId: Types.ObjectId }>();
    const former = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const or = identityClauses(ids);
      if (!or.length) break;
      const found = await db.conversations
        .find({ clientId: { $in: tenants }, $or: or }, IDENTITY_PROJECTION)
        .lean<Array<StoredIdentity & { clientId: Types.ObjectId }>>();
      let grew = false;
      for (const c of found) {
        if (matchScore(c, ids) === 0 || conversations.has(c._id.toHexString())) continue;
        conversations.set(c._id.toHexString(), c);
        if (/^\d{6,20}$/.test(c.candidateKey)) former.add(c.candidateKey);
        grew = addIds(ids, c.candidatePhone, c.candidateUserId) || grew;
      }
      // Identity changes recorded in their threads name the numbers and user ids they held before.
      const changes = await db.messages
        .find(
          {
            clientId: { $in: tenants },
            conversationId: { $in: [...conversations.values()].map((c) => c._id) },
            type: "system",
          },
          { raw: 1, content: 1 },
        )
        .lean();
      // A business-scoped user id is never given to anyone else: it finds their conversations; a number is only "former".
      for (const m of changes)
        for (const [kind, v] of identitiesIn([m.raw, m.content]))
          if (kind === "userId") grew = addIds(ids, null, v) || grew;
          else former.add(v);
      if (!grew) break;
    }
    const convs = [...conversations.values()].map((c) => ({ _id: c._id, clientId: c.clientId }));
    const messageIds: Types.ObjectId[] = [];
    const wamids = new Set<string>();
    const fileIds = new Map<string, Types.ObjectId>();
    let last: Types.ObjectId | null = null;
    for (;;) {
      const page: Array<{ _id: Types.ObjectId; wamid?: string | null; media?: unknown; content?: unknown }> =
        await db.messages
          .find(
            {
              clientId: { $in: tenants },
              conversationId: { $in: convs.map((c) => c._id) },
              ...(last ? { _id: { $gt: last } } : {}),
            },
            { _id: 1, wamid: 1, media: 1, content: 1 },
          )
          .sort({ _id: 1 })
          .limit(this.batch)
          .lean();
      for (const m of page) {
        messageIds.push(m._id);
        if (m.wamid) wamids.add(m.wamid);
        for (const id of fileIdsIn([m.media, m.content])) fileIds.set(id.toHexString(), id);
      }
      if (page.length < this.batch) break;
      last = page[page.length - 1]!._id;
    }
    const formerPhones = [...former].filter((p) => !ids.phones.includes(p));
    const needles = [
      ...ids.phones,
      ...formerPhones,
      ...ids.userIds,
      ...wamids,
      ...messageIds.map((id) => id.toHexString()),
      ...convs.map((c) => c._id.toHexString()),
      ...[...fileIds.keys()],
    ].filter((n) => n.length >= 6);
    return {
      clientIds: tenants,
      ids,
      formerPhones,
      conversations: convs,
      messageIds,
      wamids: [...wamids],
      fileIds: [...fileIds.values()],
      needles,
    };
  }

  private async runStep(step: Step, fp: Footprint): Promise<Record<string, number>> {
    const db = this.deps.db;
    switch (step) {
      case "opt-out":
        return {
          opt_out_hashed: await this.optOut.keep(
            { clientIds: fp.clientIds, ...fp.ids, formerPhones: fp.formerPhones },
            this.deps.hasher,
          ),
        };
      case "campaign-recipients": {
        // Before the queues: a campaign still expanding must not queue a send to them afterwards.
        const phones = new Set([...fp.ids.phones, ...fp.formerPhones]);
        const userIds = new Set(fp.ids.userIds);
        let removed = 0;
        for (const clientId of fp.clientIds)
          removed += await db
            .campaignsOf(clientId)
            .eraseRecipients((r) => (!!r.phone && phones.has(r.phone)) || (!!r.userId && userIds.has(r.userId)));
        return { campaign_recipients: removed };
      }
      case "queues":
        return this.eraseQueues(fp);
      case "pending-statuses": {
        const or: Array<Record<string, unknown>> = [];
        if (fp.wamids.length) or.push({ wamid: { $in: fp.wamids } });
        if (fp.messageIds.length)
          or.push({ bizOpaqueCallbackData: { $in: fp.messageIds.map((i) => i.toHexString()) } });
        const phones = [...fp.ids.phones, ...fp.formerPhones];
        if (phones.length) or.push({ "payload.recipient_id": { $in: phones } });
        if (fp.ids.userIds.length) or.push({ "payload.recipient_user_id": { $in: fp.ids.userIds } });
        if (!or.length) return { pending_statuses: 0 };
        return { pending_statuses: await db.messageStore.deletePendingStatuses(fp.clientIds, or) };
      }
      case "webhook-events":
        return { webhook_events: await this.eraseWebhookEvents(fp) };
      case "media": {
        const byMessage = fp.messageIds.length
          ? await db.connection
              .collection<{ _id: Types.ObjectId }>("media.files")
              .find(
                { "metadata.messageId": { $in: fp.messageIds.map((i) => i.toHexString()) } },
                { projection: { _id: 1 } },
              )
              .toArray()
          : [];
        const files = new Map(fp.fileIds.map((id) => [id.toHexString(), id]));
        for (const f of byMessage) files.set(String(f._id), f._id);
        return { media_files: await deleteMediaFiles(db, files.values()) };
      }
      case "costs":
        return { erased_costs: await keepCostRows(db, fp.messageIds, this.batch) };
      case "messages":
        return this.eraseConversations(fp);
      case "redis-keys":
        return this.eraseRedisKeys(fp);
    }
  }

  /**
   * Jobs naming the person. Deliveries still waiting to be stored (in the ingress stream, or queued)
   * are waited for: removing one would lose the other candidates' messages it carries, and storing it
   * first lets this erasure delete what it holds. Sends not made yet are cancelled (their jobs
   * removed); a job running now is waited for. Finished jobs (their data, results, failures) and the
   * queues' event-stream entries that name the person are deleted.
   */
  private async eraseQueues(fp: Footprint): Promise<Record<string, number>> {
    const { redis, prefix } = this.deps;
    if (!fp.needles.length) return { bullmq_jobs: 0, stream_entries: 0 };
    if ((await streamEntriesNaming(redis, ingressStreamKey(prefix), fp.needles)).length)
      throw new ErasureInFlightError("webhook deliveries not yet moved to the queue");
    // Sends accepted but not yet moved to the outbound queue: waited for like deliveries, then removed as jobs.
    if ((await streamEntriesNaming(redis, sendStreamKey(prefix), fp.needles)).length)
      throw new ErasureInFlightError("accepted sends not yet moved to the queue");
    let jobs = 0;
    let entries = 0;
    for (const name of SCANNED_QUEUES) {
      const queue = new Queue(name, { connection: redis, prefix });
      try {
        const found = await jobsNaming(queue, fp.needles);
        const running = found.filter((j) => j.state === "active");
        const queued = found.filter((j) => !["completed", "failed", "active"].includes(j.state));
        if (running.length) throw new ErasureInFlightError(`${running.length} ${name} job(s) running`);
        if (name === WEBHOOK_QUEUE && queued.length)
          throw new ErasureInFlightError(`${queued.length} webhook deliveries queued`);
        for (const j of found) {
          // A job locked since the scan (taken by a worker) cannot be removed: wait for it.
          const removed = await queue.remove(j.id);
          if (!removed) throw new ErasureInFlightError(`a ${name} job taken since`);
          jobs++;
        }
        const eventsKey = `${prefix}:${name}:events`;
        const ids = await streamEntriesNaming(redis, eventsKey, fp.needles);
        for (let i = 0; i < ids.length; i += 500) entries += await redis.xdel(eventsKey, ...ids.slice(i, i + 500));
      } finally {
        await queue.close();
      }
    }
    return { bullmq_jobs: jobs, stream_entries: entries };
  }

  /**
   * Webhook events (account events, unrouted or malformed parts, dead letters) of the erasure's
   * tenants, or of none, that name the person: read in pages, deleted by id. A dead letter naming
   * them is deleted whole (a delivery's body cannot be cut without breaking Meta's signature).
   */
  private async eraseWebhookEvents(fp: Footprint): Promise<number> {
    const col = this.deps.db.webhookEvents;
    if (!fp.needles.length) return 0;
    let removed = 0;
    let last: Types.ObjectId | null = null;
    for (;;) {
      const page: Array<{ _id: Types.ObjectId }> = await col
        .find({ clientId: { $in: [...fp.clientIds, null] }, ...(last ? { _id: { $gt: last } } : {}) })
        .sort({ _id: 1 })
        .limit(this.batch)
        .lean();
      const hit = page.filter((e) => namesAny(JSON.stringify(e), fp.needles)).map((e) => e._id);
      if (hit.length) removed += (await col.deleteMany({ _id: { $in: hit } })).deletedCount;
      if (page.length < this.batch) return removed;
      last = page[page.length - 1]!._id;
      await yieldToLiveTraffic();
    }
  }

  /** Messages in pages, then each conversation, announced to its tenant's dashboards. */
  private async eraseConversations(fp: Footprint): Promise<Record<string, number>> {
    const db = this.deps.db;
    let messages = 0;
    let conversations = 0;
    for (const c of fp.conversations) {
      const res = await deleteConversation(db, this.deps.events, this.deps.redis, c, "erasure", this.batch);
      messages += res.messages;
      conversations += res.conversations;
    }
    // Messages stored under their ids in no conversation found (an echo, a send never linked).
    const strays = [];
    if (fp.wamids.length) strays.push({ wamid: { $in: fp.wamids } });
    if (strays.length) messages += await db.messageStore.deleteMatching(fp.clientIds, strays);
    return { messages, conversations };
  }

  /**
   * Redis keys that name the person: the send state's open windows and opt-out copies (keyed by phone
   * and user id; the opt-out step wrote their hashed copies first), the idempotency answers of their sends, the per-recipient pacing keys, the typing markers of their
   * conversations.
   */
  private async eraseRedisKeys(fp: Footprint): Promise<Record<string, number>> {
    const { redis, prefix, db } = this.deps;
    const keys = new Set<string>();
    const numbers = (await db.clients.find({ _id: { $in: fp.clientIds } }, { phoneNumberId: 1 }).lean())
      .map((c) => c.phoneNumberId)
      .filter((n): n is string => typeof n === "string" && n.length > 0);
    for (const clientId of fp.clientIds.map((c) => c.toHexString())) {
      for (const id of [...fp.ids.phones, ...fp.formerPhones, ...fp.ids.userIds]) {
        keys.add(`${prefix}:send-state:window:${clientId}:${id}`);
        keys.add(`${prefix}:send-state:opt-out:${clientId}:${id}`);
      }
      for (const key of await scanKeys(redis, `${prefix}:send-state:idem:${clientId}:*`)) {
        const value = await redis.get(key).catch(() => null);
        if (namesAny(key, fp.needles) || (value && namesAny(value, fp.needles))) keys.add(key);
      }
    }
    for (const n of numbers)
      for (const phone of [...fp.ids.phones, ...fp.formerPhones]) keys.add(`${prefix}:pace:r:${n}:${phone}`);
    for (const c of fp.conversations) keys.add(`${prefix}:typing:${c._id.toHexString()}`);
    let removed = 0;
    // One key per DEL: on a Redis Cluster each could live in another slot when the prefix has no tag.
    for (const key of keys) removed += await redis.del(key);
    return { redis_keys: removed };
  }
}

/** Adds a phone and a user id to `ids`; true when one was new. */
function addIds(ids: CandidateIds, phone?: string | null, userId?: string | null): boolean {
  let grew = false;
  if (phone && !ids.phones.includes(phone)) {
    ids.phones.push(phone);
    grew = true;
  }
  if (userId && !ids.userIds.includes(userId)) {
    ids.userIds.push(userId);
    grew = true;
  }
  return grew;
}

/**
 * The identities an identity-change system message names (Meta's `system` object: `wa_id`,
 * `new_wa_id`, `customer`, `user_id`, `new_user_id`, `previous_user_id`), by kind.
 */
function identitiesIn(values: unknown[]): Array<["phone" | "userId", string]> {
  const out: Array<["phone" | "userId", string]> = [];
  const visit = (v: unknown, depth: number) => {
    if (!v || typeof v !== "object" || depth > 2) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === "string" && x) {
        if (["wa_id", "new_wa_id", "customer"].includes(k) && /^\d{6,20}$/.test(x)) out.push(["phone", x]);
        if (/user_id$/i.test(k) && /^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/.test(x)) out.push(["userId", x]);
      } else if (k === "system") visit(x, depth + 1);
    }
  };
  for (const v of values) visit(v, 0);
  return out;
}
