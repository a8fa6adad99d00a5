import type { Model, Types } from "mongoose";
import type { ConversationDoc } from "../conversations/conversation.model.js";
import type { MessageDoc } from "../messages/message.model.js";
import { BulkWriter } from "../ferretdb-adapter.js";
import { isDuplicateKeyError } from "../errors.js";
import { distinctIds, oneOrIn } from "../ids.js";
import { AnalyticsCounters, counterDocId, isDuplicateKey, type LockCounters } from "./analytics-counters.js";
import {
  ALL_SCOPE,
  ANALYTICS_MESSAGE_FIELDS,
  applicationEvents,
  conversationEvents,
  firstReplyAfter,
  isTemplate,
  outboundEvents,
  replyEvents,
  type AnalyticsMessage,
  type CounterEvent,
} from "./analytics-events.js";
import type { AnalyticsApplicationDoc, AnalyticsCounterDoc, ApplicationStage } from "./analytics.model.js";

/** How far back a message's conversation is read for its reply and response figures. */
const CONTEXT_MESSAGES = 200;
/**
 * How many of a conversation's newest messages one read takes when a reference names the
 * conversation: the messages to count are among them (they were just written), and so is their
 * context unless newer messages fill the window.
 */
const CONTEXT_WINDOW = CONTEXT_MESSAGES + 50;

const timeOf = (m: AnalyticsMessage) => new Date(m.timestamp).getTime();

/**
 * What the bounded read `timestamp <= latest's, newest first, CONTEXT_MESSAGES of them` returns,
 * taken from a window of the conversation's newest messages (newest first) when the window is sure
 * to hold all of it: the window is the whole conversation, or holds CONTEXT_MESSAGES at or before
 * `latest`'s time. Null when it may not.
 */
function contextFromWindow(window: AnalyticsMessage[], latest: AnalyticsMessage): AnalyticsMessage[] | null {
  const upTo = window.filter((p) => timeOf(p) <= timeOf(latest));
  if (window.length < CONTEXT_WINDOW || upTo.length >= CONTEXT_MESSAGES) return upTo.slice(0, CONTEXT_MESSAGES);
  return null;
}

/**
 * The messages after `m` (oldest first) that the read `timestamp >= m's, oldest first,
 * CONTEXT_MESSAGES of them` would return, from a window of the newest messages holding `m` (so every
 * later message): null when `m` is not in it, or when so many follow it that the read's limit would
 * have cut them.
 */
function followingInWindow(window: AnalyticsMessage[], m: AnalyticsMessage): AnalyticsMessage[] | null {
  if (!window.some((p) => p._id.equals(m._id))) return null;
  const from = window.filter((p) => timeOf(p) >= timeOf(m)).reverse();
  return from.length < CONTEXT_MESSAGES ? from : null;
}

type Stored = AnalyticsMessage & { request?: { applicationId?: string | null } | null };
const FIELDS = { ...ANALYTICS_MESSAGE_FIELDS, "request.applicationId": 1 } as const;

const byTime = (a: AnalyticsMessage, b: AnalyticsMessage) =>
  new Date(a.timestamp).getTime() - new Date(b.timestamp).getTime() ||
  a._id.toHexString().localeCompare(b._id.toHexString());

export const applicationDocId = (clientId: Types.ObjectId, applicationId: string) =>
  `${clientId.toHexString()}|${applicationId}`;

export interface AnalyticsProjectorOptions {
  lock?: LockCounters;
}

/**
 * Keeps the analytics counters as messages and statuses are written: `project` is called with the
 * messages a batch wrote (inbound messages stored, outbound messages a status moved or priced), reads
 * them as stored, derives their counter events (analytics-events.ts) and counts each once
 * (AnalyticsCounters). Deriving from the stored state makes it indifferent to the order and the
 * number of times it is called. `rebuild` recomputes a tenant's counters from its stored messages.
 */
export class AnalyticsProjector {
  readonly counters: AnalyticsCounters;
  /** Applications this process recorded (their first send), by document id. */
  private readonly applications = new Map<string, AnalyticsApplicationDoc>();

  constructor(
    private readonly models: {
      messages: Model<MessageDoc>;
      conversations: Model<ConversationDoc>;
      counters: Model<AnalyticsCounterDoc>;
      applications: Model<AnalyticsApplicationDoc>;
    },
    opts: AnalyticsProjectorOptions = {},
    /** The connection's batched-update writer (Database.batchWriter). */
    private readonly writer: BulkWriter = BulkWriter.mongodb,
  ) {
    this.counters = new AnalyticsCounters(models.counters, opts, writer);
  }

  /**
   * Counts what these messages imply. A reference that names the message's conversation lets the
   * conversation's read serve the message itself too. Requests: one find per conversation named (its
   * newest CONTEXT_WINDOW messages, index-served: the messages counted, what precedes them and what
   * follows a delivered template), one find of the conversations' candidates, one upsert per new
   * application, then the counter writes (one per counter document). Only when a conversation's
   * window does not hold what its messages need (a message older than it, newer messages filling
   * it), or a reference names no conversation, is it read as before: the messages by id, the context
   * before the newest of them, what follows a delivered template.
   */
  async project(
    refs: Array<{ clientId: Types.ObjectId; messageId: Types.ObjectId; conversationId?: Types.ObjectId | null }>,
    /** Filled with the templates these messages answered (their first reply): a campaign counts them `replied`. */
    replies?: Array<{ clientId: Types.ObjectId; templateId: string }>,
  ): Promise<number> {
    if (!refs.length) return 0;
    const unique = [...new Map(refs.map((r) => [r.messageId.toHexString(), r])).values()];
    // The newest messages of each conversation named, read once for all of its messages.
    const named = new Map<string, { clientId: Types.ObjectId; conversationId: Types.ObjectId }>();
    for (const r of unique)
      if (r.conversationId)
        named.set(r.conversationId.toHexString(), { clientId: r.clientId, conversationId: r.conversationId });
    const windows = new Map<string, AnalyticsMessage[]>();
    await Promise.all(
      [...named].map(async ([k, c]) => {
        const newest = (await this.models.messages.collection
          // One reply: a batch as large as the limit (the default first batch, 101, would cost a getMore).
          .find(
            { clientId: c.clientId, conversationId: c.conversationId },
            { projection: FIELDS, batchSize: CONTEXT_WINDOW },
          )
          .sort({ timestamp: -1, _id: -1 })
          .limit(CONTEXT_WINDOW)
          .toArray()) as unknown as Stored[];
        windows.set(k, newest);
      }),
    );
    const inWindows = new Map<string, Stored>();
    for (const list of windows.values()) for (const m of list) inWindows.set(m._id.toHexString(), m);
    const missing = unique.filter((r) => !inWindows.has(r.messageId.toHexString()));
    // By id (one find on MongoDB; on FerretDB one per message, whose `_id: {$in}` reads the collection).
    const read = await this.writer.findEach<Stored>(
      this.models.messages.collection,
      {
        _id: oneOrIn(missing.map((r) => r.messageId)),
        clientId: oneOrIn(distinctIds(missing.map((r) => r.clientId))),
      },
      missing.map((r) => ({ _id: r.messageId, clientId: r.clientId })),
      { projection: FIELDS },
    );
    const wanted = new Set(unique.map((r) => r.messageId.toHexString()));
    const messages = [
      ...[...inWindows.values()].filter((m) => wanted.has(m._id.toHexString())),
      ...read.filter((m) => !inWindows.has(m._id.toHexString())),
    ];
    if (!messages.length) return 0;
    const clients = distinctIds(messages.map((m) => m.clientId));
    const events: Array<{ clientId: Types.ObjectId; event: CounterEvent }> = [];
    const add = (clientId: Types.ObjectId, list: CounterEvent[]) => {
      for (const event of list) events.push({ clientId, event });
    };
    for (const m of messages) add(m.clientId, outboundEvents(m));

    const inContext = messages.filter((m) => m.direction === "inbound" || !m.fallbackOf);
    const byConversation = new Map<string, Stored[]>();
    for (const m of inContext) {
      const k = m.conversationId.toHexString();
      byConversation.set(k, [...(byConversation.get(k) ?? []), m]);
    }
    if (byConversation.size) {
      const named = [...byConversation.values()].map((l) => ({ _id: l[0]!.conversationId, clientId: l[0]!.clientId }));
      // By id, as the messages above.
      const convs = await this.writer.findEach<{ _id: unknown; candidatePhone?: string | null }>(
        this.models.conversations.collection,
        { _id: oneOrIn(named.map((c) => c._id)), clientId: oneOrIn(clients) },
        named,
        { projection: { candidatePhone: 1 } },
      );
      const phones = new Map(convs.map((c) => [String(c._id), (c.candidatePhone as string | null) ?? null]));
      await Promise.all(
        [...byConversation.entries()].map(async ([k, list]) => {
          const latest = list.reduce((a, b) => (byTime(a, b) >= 0 ? a : b));
          const window = windows.get(k);
          const recent =
            (window && contextFromWindow(window, latest)) ??
            ((await this.models.messages.collection
              .find(
                {
                  clientId: latest.clientId,
                  conversationId: latest.conversationId,
                  timestamp: { $lte: latest.timestamp },
                },
                { projection: ANALYTICS_MESSAGE_FIELDS, batchSize: CONTEXT_MESSAGES },
              )
              .sort({ timestamp: -1, _id: -1 })
              .limit(CONTEXT_MESSAGES)
              .toArray()) as unknown as AnalyticsMessage[]);
          for (const m of list) {
            const before = recent.filter((p) => byTime(p, m) < 0);
            add(m.clientId, conversationEvents(m, before, phones.get(k)));
            // A delivered template: its first reply may have been stored before the delivery report.
            if (isTemplate(m) && (m.statusAt?.delivered || m.statusAt?.read)) {
              const after =
                (window && followingInWindow(window, m)) ??
                ((await this.models.messages.collection
                  .find(
                    { clientId: m.clientId, conversationId: m.conversationId, timestamp: { $gte: m.timestamp } },
                    { projection: ANALYTICS_MESSAGE_FIELDS, batchSize: CONTEXT_MESSAGES },
                  )
                  .sort({ timestamp: 1, _id: 1 })
                  .limit(CONTEXT_MESSAGES)
                  .toArray()) as unknown as AnalyticsMessage[]);
              const reply = firstReplyAfter(after.filter((p) => byTime(p, m) > 0));
              if (reply) add(m.clientId, replyEvents(m, reply));
            }
          }
        }),
      );
    }

    for (const m of messages) {
      const applicationId = m.direction === "outbound" ? m.request?.applicationId : null;
      if (!applicationId) continue;
      const app = await this.openApplication(m.clientId, applicationId, new Date(m.timestamp));
      add(m.clientId, applicationEvents(app));
    }
    if (replies)
      for (const { clientId, event } of events)
        if (event.scope === ALL_SCOPE && event.id.endsWith(":reply"))
          replies.push({ clientId, templateId: event.id.slice(0, -":reply".length) });
    return this.counters.record(events);
  }

  /** The application's record, created at its first send (the first one recorded stays). */
  private async openApplication(clientId: Types.ObjectId, applicationId: string, at: Date) {
    const _id = applicationDocId(clientId, applicationId);
    // Its first send never changes once recorded: each status of the message needs no request again.
    const known = this.applications.get(_id);
    if (known) return known;
    const doc = await this.upsertApplication(_id, clientId, applicationId, at);
    if (this.applications.size >= 50_000) this.applications.clear();
    if (doc) this.applications.set(_id, { ...doc, outcomes: {} });
    return doc;
  }

  private async upsertApplication(_id: string, clientId: Types.ObjectId, applicationId: string, at: Date) {
    try {
      const doc = await this.models.applications.collection.findOneAndUpdate(
        { _id } as never,
        { $setOnInsert: { clientId, applicationId, firstSentAt: at } },
        { upsert: true, returnDocument: "after", includeResultMetadata: false },
      );
      return doc as unknown as AnalyticsApplicationDoc;
    } catch (err) {
      // Two writers created it at once: the other's insert stands.
      if (!isDuplicateKeyError(err)) throw err;
      return (await this.models.applications.collection.findOne({
        _id,
      } as never)) as unknown as AnalyticsApplicationDoc;
    }
  }

  /**
   * The platform reports an application's outcome. Null when the tenant never messaged this
   * application (it is not the tenant's). Each stage keeps its first report's time; reporting it
   * again changes nothing.
   */
  async recordOutcome(
    clientId: Types.ObjectId,
    applicationId: string,
    stage: ApplicationStage,
    at = new Date(),
  ): Promise<AnalyticsApplicationDoc | null> {
    const _id = applicationDocId(clientId, applicationId);
    await this.models.applications.collection.updateOne(
      { _id, clientId, [`outcomes.${stage}`]: { $exists: false } } as never,
      { $set: { [`outcomes.${stage}`]: at, stage, updatedAt: at } },
    );
    const doc = (await this.models.applications.collection.findOne({
      _id,
      clientId,
    } as never)) as unknown as AnalyticsApplicationDoc | null;
    if (!doc) return null;
    await this.counters.record(applicationEvents(doc).map((event) => ({ clientId, event })));
    return doc;
  }

  /**
   * Recomputes one tenant's counters from its stored messages and applications, and replaces them.
   * Reads the tenant's messages once, conversation by conversation (the thread index), in memory per
   * conversation. Run it with the tenant's traffic quiet (or run it again after): an event counted
   * live between the read and the replacement would be dropped.
   */
  async rebuild(clientId: Types.ObjectId): Promise<{ messages: number; documents: number; events: number }> {
    const phones = new Map<string, string | null>();
    for await (const c of this.models.conversations.collection.find(
      { clientId },
      { projection: { candidatePhone: 1 } },
    ))
      phones.set(String(c._id), (c.candidatePhone as string | null) ?? null);

    const docs = new Map<string, AnalyticsCounterDoc & { seenSet: Set<string> }>();
    let eventCount = 0;
    const count = (list: CounterEvent[]) => {
      for (const e of list) {
        const id = counterDocId(clientId, e.day, e.scope);
        let d = docs.get(id);
        if (!d) {
          d = { _id: id, clientId, day: e.day, scope: e.scope, c: {}, seen: [], seenSet: new Set() };
          docs.set(id, d);
        }
        if (d.seenSet.has(e.id)) continue;
        d.seenSet.add(e.id);
        eventCount++;
        for (const [k, v] of Object.entries(e.inc)) addPath(d.c!, k, v);
      }
    };
    const firstSend = new Map<string, Date>();
    let conversation: string | null = null;
    let thread: Stored[] = [];
    let messages = 0;
    const flush = () => {
      thread.sort(byTime);
      for (let i = 0; i < thread.length; i++) {
        const m = thread[i]!;
        count(outboundEvents(m));
        if (m.direction === "inbound" || !m.fallbackOf) {
          const before = thread.slice(Math.max(0, i - CONTEXT_MESSAGES), i).reverse();
          count(conversationEvents(m, before, phones.get(String(m.conversationId))));
        }
        if (isTemplate(m)) {
          const reply = firstReplyAfter(thread.slice(i + 1, i + 1 + CONTEXT_MESSAGES));
          if (reply) count(replyEvents(m, reply));
        }
        const app = m.direction === "outbound" ? m.request?.applicationId : null;
        if (app && !(firstSend.get(app)! <= new Date(m.timestamp))) firstSend.set(app, new Date(m.timestamp));
      }
      thread = [];
    };
    const cursor = this.models.messages.collection
      .find({ clientId }, { projection: FIELDS, batchSize: 2_000 })
      .sort({ conversationId: 1, timestamp: 1, _id: 1 });
    for await (const raw of cursor) {
      const m = raw as unknown as Stored;
      messages++;
      const k = String(m.conversationId);
      if (k !== conversation) {
        flush();
        conversation = k;
      }
      thread.push(m);
    }
    flush();

    // Applications: the first send recorded stays; one messaged before analytics existed is created.
    const known = new Set<string>();
    for await (const a of this.models.applications.collection.find({ clientId }, { batchSize: 5_000 })) {
      known.add(String((a as unknown as AnalyticsApplicationDoc).applicationId));
      count(applicationEvents(a as unknown as AnalyticsApplicationDoc));
    }
    const missing = [...firstSend].filter(([id]) => !known.has(id));
    for (let i = 0; i < missing.length; i += 1_000) {
      const docs = missing.slice(i, i + 1_000).map(([applicationId, firstSentAt]) => ({
        _id: applicationDocId(clientId, applicationId),
        clientId,
        applicationId,
        firstSentAt,
      }));
      try {
        await this.models.applications.collection.insertMany(docs as never[], { ordered: false });
      } catch (err) {
        // A send projected live meanwhile created some: theirs stand.
        if (!isDuplicateKey(err)) throw err;
      }
      for (const d of docs) count(applicationEvents(d));
    }

    const out = [...docs.values()].map(({ seenSet, ...d }) => ({ ...d, seen: [...seenSet] }));
    await this.counters.replace(clientId, out);
    return { messages, documents: out.length, events: eventCount };
  }
}

/** Adds `v` at the dotted path `k` of `o`, as `$inc` would. */
function addPath(o: Record<string, unknown>, k: string, v: number): void {
  const parts = k.split(".");
  let node = o;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== "object" || node[p] === null) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1]!;
  node[last] = ((node[last] as number | undefined) ?? 0) + v;
}
