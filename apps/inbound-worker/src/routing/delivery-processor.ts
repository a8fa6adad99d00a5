import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Types } from "mongoose";
import type { Logger } from "pino";
import {
  blockedKey,
  storableValues,
  inboundDedupeKey,
  messageSortKey,
  type ConversationBatch,
  type ConversationMerger,
  type InboundMessageBatch,
  type ConversationInbound,
  type ConversationRef,
  type ConversationView,
  type MergePlan,
  type MergeSeed,
  type Database,
  type MessageDoc,
  type StatusOutcome,
  type TenantData,
} from "@linkojob/db";
import {
  CONVERSATION_CHANGES,
  EVENTS,
  conversationUpdated,
  isMessageStatus,
  messageReceived,
  messageStatus,
  type DashboardEvents,
  conversationJson,
  messageJson,
} from "@linkojob/events";
import { normalizeDelivery, type InboundEvent, type NormalizedStatus } from "@linkojob/whatsapp";
import type { ClientDirectory } from "./client-directory.js";
import { identityMove } from "./identity-moves.js";
import { logWebhookEvent } from "./webhook-event-log.js";
import { storeEcho } from "./echo-processor.js";
import { DeterministicFailure, classifyFailure } from "./failure-class.js";
import type { HeldConversations } from "./conversation-locks.js";

export type MessageEvent = Extract<InboundEvent, { kind: "message" }>;

/** A message a batch wrote, for the analytics counters; its conversation when known (one read then serves both). */
export interface WrittenRef {
  clientId: Types.ObjectId;
  messageId: Types.ObjectId;
  conversationId?: Types.ObjectId | null;
}
type AccountEvent = Extract<InboundEvent, { kind: "account" }>;

/** What a handler of a non-message field (account_update, template status…) receives. */
export interface AccountEventContext {
  db: Database;
  events: DashboardEvents;
  logger: Logger;
  deliveryId: string;
}

/**
 * Acts on one non-message webhook field. The event is already recorded in webhook_events; the
 * handler is marked done there when it returns. It must be idempotent (redeliveries, retries).
 */
export type AccountEventHandler = (event: AccountEvent, ctx: AccountEventContext) => Promise<void>;

/** Called after a status changed an outbound message (the outbound side reacts to failures). */
export type StatusHook = (tenant: TenantData, status: NormalizedStatus, outcome: StatusOutcome) => Promise<void>;

export interface DeliveryProcessorDeps {
  db: Database;
  directory: ClientDirectory;
  events: DashboardEvents;
  logger: Logger;
  accountHandlers?: Partial<Record<string, AccountEventHandler>>;
  onStatus?: StatusHook;
  /** Called for each message newly stored (before it is announced): media fetches are enqueued here. */
  onMessageStored?: (clientId: string, message: MessageDoc) => Promise<void>;
  /**
   * Called with the conversations a batch counted messages in, as read after the write: the send
   * state copies their open windows to Redis (the send API decides from it). A failure is logged.
   */
  onConversationsWritten?: (conversations: ConversationView[]) => Promise<void>;
  /**
   * Called with the messages of a batch once they are stored and counted (also those a retried
   * delivery finds stored before): the opt-out register reads the candidates' STOP / START words and
   * identity changes here. Must be idempotent; a failure fails the batch, which is retried.
   */
  onMessages?: (messages: Array<{ clientId: Types.ObjectId; event: MessageEvent }>) => Promise<void>;
  /**
   * Called once a batch is written, with the messages it stored or whose status it moved or
   * recorded (after the status hooks: costs are written), for the analytics counters: the worker
   * queues their projection (one Redis write), so counting never holds up the batch. A failure to
   * queue fails the batch (its deliveries retry, and a retried delivery's messages are passed again).
   */
  onMessagesWritten?: (refs: WrittenRef[]) => Promise<void>;
  /** This process's token in the count claims of the messages it stores. Default: host, pid and a random part. */
  writer?: string;
  /**
   * Makes this process the only writer of some of these conversations (hex ids) until `release` is
   * called: resolves once it holds at least one, naming those it holds (`held`). A batch's counter
   * write holds them, so that two worker processes never update one conversation at once; the batch
   * writes the conversations it holds, releases them and asks again for the rest, so two processes
   * whose batches share a few conversations write the others at the same time and neither waits
   * for the other's whole batch. Without it, writes of one process are exclusive only within the process.
   */
  lockConversations?: (conversationIds: string[], opts?: { all?: boolean }) => Promise<HeldConversations>;
  /**
   * Called after conversations of one person were merged into one (the newer ones deleted): every
   * process drops what it caches of the deleted ones (the worker publishes them on
   * CONVERSATIONS_DELETED_CHANNEL). A failure is logged: a process that still writes to a merged
   * conversation finds it gone and moves what it wrote.
   */
  onConversationsMerged?: (merged: { clientId: string; conversationIds: string[] }) => Promise<void>;
  /**
   * Called after each batch with the time its steps took (benchmarks: where a batch's time goes).
   * Without it nothing is measured.
   */
  onBatchTimed?: (timing: BatchTiming) => void;
}

/** How long the steps of one batch took, in milliseconds (see DeliveryProcessorDeps.onBatchTimed). */
export interface BatchTiming {
  /** When the batch's write began (epoch milliseconds). */
  startedAt: number;
  deliveries: number;
  messages: number;
  conversations: number;
  /** By step, in the order they ran; a step run several times (lock rounds) adds up. */
  steps: Record<string, number>;
}

/** Laps of a batch's steps; absent (null) when nobody listens, so production pays nothing. */
class StepClock {
  readonly steps: Record<string, number> = {};
  readonly startedAt = Date.now();
  private last = performance.now();
  messages = 0;
  conversations = 0;
  /** Ends the step `name` now. */
  lap(name: string): void {
    const now = performance.now();
    this.steps[name] = (this.steps[name] ?? 0) + (now - this.last);
    this.last = now;
  }
}

export interface ProcessResult {
  messagesStored: number;
  duplicates: number;
  statuses: number;
  unrouted: number;
  recorded: number;
}

/** A conversation that no longer existed when a batch counted messages written to it. */
interface Vanished {
  clientId: Types.ObjectId;
  conversationId: Types.ObjectId;
  refs: ConversationRef[];
}

/** The conversation ref of a message, as resolve reads it. */
const refOf = ({ clientId, event }: { clientId: Types.ObjectId; event: MessageEvent }): ConversationRef => {
  const change = event.identityChange;
  const movedUserId = change?.kind === "user_id" ? change.to : change?.userId?.to;
  return {
    clientId,
    candidateKey: event.candidateKey,
    candidatePhone: event.waId ?? null,
    candidateUserId: event.userId ?? null,
    ...(change ? { movedTo: { phone: change.kind === "phone" ? change.to : null, userId: movedUserId ?? null } } : {}),
  };
};

/** Messages that a candidate writes open (or renew) the 24-hour window; system notices do not. */
const opensWindow = (type: string) => type !== "system";

/** One delivery, normalised and routed, its non-message content already recorded. */
export interface PreparedDelivery {
  deliveryId: string;
  /** A retry of this delivery: media of its messages already stored is enqueued again (idempotent). */
  isRetry?: boolean;
  messages: Array<{ clientId: Types.ObjectId; event: MessageEvent }>;
  statuses: Array<{ clientId: Types.ObjectId; status: NormalizedStatus }>;
  result: ProcessResult;
}

/** A message of this delivery was stored by another live worker that has not counted it yet. */
export class CountPendingError extends Error {
  readonly code = "INBOUND_ERR_COUNT_PENDING";
  constructor(
    wamid: string,
    /**
     * When to look again: about a second for a fresh claim (a batch in flight ends within moments),
     * half the claim's age for an older one (its writer may be slow, or dead: then the claim is
     * taken over once its lease ends, and looking every second until then costs a read each time),
     * never later than just after the lease.
     */
    readonly retryAfterMs = 1_000,
  ) {
    super(`message ${wamid} is being counted by another worker; retrying later`);
    this.name = "CountPendingError";
  }
}

/**
 * Processes webhook deliveries completely — every entry, change, message, status and error — a
 * batch of deliveries at a time. `prepare` normalises one delivery and records what is not a message
 * or a status; `storeBatch` writes the messages and statuses of many deliveries with a fixed number
 * of requests: one insertMany of the messages, one bulkWrite of the conversations they touch, one
 * find of those conversations (for conversation:updated), one update releasing the count claims,
 * and for statuses one find, one bulkWrite and one find. Conversation ids come from a cache, else
 * one find (and one upsert for candidates never seen). Each write is idempotent and commutes with
 * the others, so deliveries processed twice, or in any order, end in the same state.
 */
export class DeliveryProcessor {
  private readonly messages: InboundMessageBatch;
  private readonly merger: ConversationMerger;
  private readonly conversations: ConversationBatch;
  /** What normalized events become before they are stored (see ferretdb-adapter: nested arrays on the stand-in). */
  private storable: Promise<<T>(value: T) => T> | null = null;
  private readonly tenants = new Map<string, TenantData>();
  private lastBatch: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: DeliveryProcessorDeps) {
    const writer = deps.writer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
    this.messages = deps.db.messageStore.inboundBatch({ writer });
    this.merger = deps.db.conversationStore.merger();
    this.conversations = deps.db.conversationStore.batch();
  }

  /** Drops the cached ids of deleted conversations: the person's next message starts a new one. */
  forgetConversations(conversationIds: ReadonlySet<string>): void {
    this.conversations.forgetConversations(conversationIds);
  }

  /** One delivery alone (prepare, then a batch of one). */
  async process(
    deliveryId: string,
    body: string,
    opts: { isRetry?: boolean; receivedAt?: Date } = {},
  ): Promise<ProcessResult> {
    const prepared = { ...(await this.prepare(deliveryId, body, opts.receivedAt)), isRetry: opts.isRetry ?? false };
    const [result] = await this.storeBatch([prepared]);
    if (result instanceof Error) throw result;
    return result!;
  }

  /**
   * Normalises a delivery, routes its messages and statuses to their clients, and records (in
   * webhook_events) and acts on everything else. Throws SyntaxError for a body that is not JSON.
   * Timestamps more than a few minutes after `receivedAt` (when the ingress accepted the delivery)
   * are replaced by it: the window and the ordering use the clamped time.
   */
  async prepare(deliveryId: string, body: string, receivedAt = new Date()): Promise<PreparedDelivery> {
    const storable = await (this.storable ??= storableValues(this.deps.db.connection).catch((err: unknown) => {
      this.storable = null;
      throw err;
    }));
    const events = storable(normalizeDelivery(JSON.parse(body), { receivedAt }));
    const prepared: PreparedDelivery = {
      deliveryId,
      messages: [],
      statuses: [],
      result: { messagesStored: 0, duplicates: 0, statuses: 0, unrouted: 0, recorded: 0 },
    };
    const result = prepared.result;
    for (const event of events) {
      switch (event.kind) {
        case "message":
        case "status": {
          const client = await this.deps.directory.lookup(event.phoneNumberId, event.wabaId);
          if (!client) {
            result.unrouted++;
            await logWebhookEvent(this.deps.db, deliveryId, {
              kind: "unrouted",
              field: event.kind === "message" ? "messages" : "statuses",
              wabaId: event.wabaId,
              phoneNumberId: event.phoneNumberId,
              value: event.kind === "message" ? event.message : event.status,
              problem: "no client has this phone_number_id under this WABA (entry.id)",
            });
            this.deps.logger.warn(
              { phoneNumberId: event.phoneNumberId, deliveryId },
              "webhook for a number no client has; recorded and skipped",
            );
            continue;
          }
          if (event.kind === "status") prepared.statuses.push({ clientId: client.clientId, status: event.status });
          else prepared.messages.push({ clientId: client.clientId, event });
          break;
        }
        case "echo": {
          // An app echo (coexistence): stored as an outbound message of the conversation (echo-processor).
          const client = await this.deps.directory.lookup(event.phoneNumberId, event.wabaId);
          if (client) await storeEcho(this.deps, client.clientId, event, receivedAt);
          else {
            result.unrouted++;
            await logWebhookEvent(this.deps.db, deliveryId, {
              kind: "unrouted",
              field: "smb_message_echoes",
              wabaId: event.wabaId,
              phoneNumberId: event.phoneNumberId,
              value: event.message,
              problem: "no client has this phone_number_id under this WABA (entry.id)",
            });
          }
          break;
        }
        case "value_errors": {
          const client = await this.deps.directory.lookup(event.phoneNumberId, event.wabaId);
          result.recorded++;
          await logWebhookEvent(this.deps.db, deliveryId, {
            kind: "value_errors",
            field: "messages",
            wabaId: event.wabaId,
            phoneNumberId: event.phoneNumberId,
            clientId: client?.clientId ?? null,
            value: event.errors,
          });
          this.deps.logger.warn(
            { phoneNumberId: event.phoneNumberId, errors: event.errors },
            "Meta reported account-level errors",
          );
          break;
        }
        case "account":
          result.recorded++;
          await this.handleAccountEvent(deliveryId, event);
          break;
        case "malformed":
          result.recorded++;
          await logWebhookEvent(this.deps.db, deliveryId, {
            kind: "malformed",
            field: event.field,
            wabaId: event.wabaId ?? null,
            phoneNumberId: event.phoneNumberId ?? null,
            valid: false,
            problem: event.reason,
            value: event.raw,
            location: event.location ?? null,
          });
          this.deps.logger.warn(
            { deliveryId, field: event.field, reason: event.reason },
            "malformed webhook element recorded",
          );
          break;
      }
    }
    return prepared;
  }

  /**
   * Stores the messages and applies the statuses of prepared deliveries. Returns one result per
   * delivery: its counts, or a CountPendingError when one of its messages is being counted by
   * another live worker (that delivery retries later). Throws when the batch could not be written:
   * every delivery of it then retries, and the retries are safe (see InboundMessageBatch).
   */
  storeBatch(deliveries: PreparedDelivery[]): Promise<Array<ProcessResult | Error>> {
    // One batch at a time in a process: a claim of this writer is then never one in flight.
    const run = this.lastBatch.then(
      () => this.writeBatch(deliveries),
      () => this.writeBatch(deliveries),
    );
    this.lastBatch = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes the batch together; when that fails deterministically (a refused update, an error of our
   * code on one delivery's data), writes its deliveries one by one so that only the culprit fails:
   * every write is idempotent, and claims of this writer are taken over by the rerun.
   */
  private async writeBatch(deliveries: PreparedDelivery[]): Promise<Array<ProcessResult | Error>> {
    try {
      return await this.writeTogether(deliveries);
    } catch (err) {
      if (deliveries.length === 1 || classifyFailure(err).kind !== "deterministic") throw err;
      this.deps.logger.warn(
        { err, deliveries: deliveries.length },
        "batch failed deterministically; writing its deliveries one by one",
      );
      const outcomes: Array<ProcessResult | Error> = [];
      for (const d of deliveries) {
        try {
          outcomes.push(...(await this.writeTogether([d])));
        } catch (e) {
          if (classifyFailure(e).kind !== "deterministic") throw e;
          outcomes.push(e instanceof Error ? e : new Error(String(e)));
        }
      }
      return outcomes;
    }
  }

  private async writeTogether(deliveries: PreparedDelivery[]): Promise<Array<ProcessResult | Error>> {
    const outcomes: Array<ProcessResult | Error> = deliveries.map((d) => ({ ...d.result }));
    const written: WrittenRef[] = [];
    const clock = this.deps.onBatchTimed ? new StepClock() : null;
    await this.storeMessages(deliveries, outcomes, written, clock);
    // Statuses after messages: a delivery may carry a message and statuses about it.
    await this.applyStatuses(deliveries, outcomes, written);
    clock?.lap("statuses");
    if (written.length) await this.deps.onMessagesWritten?.(written);
    if (clock) {
      clock.lap("analyticsEnqueue");
      this.deps.onBatchTimed!({
        startedAt: clock.startedAt,
        deliveries: deliveries.length,
        messages: clock.messages,
        conversations: clock.conversations,
        steps: clock.steps,
      });
    }
    return outcomes;
  }

  private async storeMessages(
    deliveries: PreparedDelivery[],
    outcomes: Array<ProcessResult | Error>,
    written: WrittenRef[],
    clock: StepClock | null,
  ): Promise<void> {
    const count = (di: number, field: "messagesStored" | "duplicates") => {
      const r = outcomes[di];
      if (r && !(r instanceof Error)) r[field]++;
    };
    // Distinct messages of the batch (a delivery and its redelivery may share a batch).
    const unique = new Map<string, { clientId: Types.ObjectId; event: MessageEvent; owners: number[] }>();
    deliveries.forEach((d, di) => {
      for (const m of d.messages) {
        const k = `${m.clientId.toHexString()}|${m.event.message.wamid}`;
        const seen = unique.get(k);
        if (seen) {
          seen.owners.push(di);
          count(di, "duplicates");
        } else unique.set(k, { ...m, owners: [di] });
      }
    });
    if (!unique.size) return;
    const items = await this.withoutBlocked([...unique.values()], deliveries, outcomes);
    clock?.lap("blockedCheck");
    if (!items.length) return;
    const conversations = this.conversations;

    const ids = await conversations.resolve(items.map(refOf));
    clock?.lap("resolve");
    const inserted = await this.messages.insert(
      items.map(({ clientId, event }) => ({
        clientId,
        conversationId: ids.get(`${clientId.toHexString()}|${event.candidateKey}`)!,
        message: event.message,
      })),
    );
    clock?.lap("insert");

    // What this batch owes the conversations: the messages it stored, or took over from a dead writer.
    const owed: Array<{ item: (typeof items)[number]; message: MessageDoc; takenOver: boolean }> = [];
    // A retry may follow a crash between the claim's release and the media enqueue: enqueue again.
    const stored: MessageDoc[] = [];
    inserted.forEach((res, i) => {
      const item = items[i]!;
      if (res.state === "inserted" || res.state === "taken_over") {
        owed.push({ item, message: res.message, takenOver: res.state === "taken_over" });
        stored.push(res.message);
        count(item.owners[0]!, "messagesStored");
      } else if (res.state === "refused") {
        // The server refused this one document: its deliveries become dead letters, the others are stored.
        const why = `message ${item.event.message.wamid} refused by the server (code ${res.refusal?.code ?? "?"}): ${res.refusal?.message ?? ""}`;
        for (const di of item.owners) outcomes[di] = new DeterministicFailure(why, res.refusal?.code ?? null);
      } else if (res.state === "counted") {
        count(item.owners[0]!, "duplicates");
        if (item.owners.some((di) => deliveries[di]!.isRetry)) stored.push(res.message);
      } else {
        const at = res.message.countClaim?.at;
        const age = at ? Date.now() - new Date(at).getTime() : 0;
        const retryAfterMs = Math.max(1_000, Math.min(age / 2, this.messages.claimLeaseMs - age + 500));
        for (const di of item.owners) outcomes[di] = new CountPendingError(item.event.message.wamid, retryAfterMs);
      }
    });
    if (clock) clock.messages = owed.length;
    // Announced once stored, before the counters: `message:received` carries the message alone, so
    // the recruiter sees it without waiting for the conversation's writes (the batch's slowest part);
    // `conversation:updated` follows with the counts. A retry after a failure below announces the
    // message again, under the same id (the dashboard merges by id).
    for (const { message } of owed)
      this.deps.events.toClient(
        message.clientId.toHexString(),
        EVENTS.messageReceived,
        messageReceived(messageJson(message)),
      );
    clock?.lap("emitMessages");
    const counted = await this.recordCounts(owed, clock);
    await this.mergeTwins(conversations, owed, counted);
    clock?.lap("mergeTwins");
    await this.deps.onMessages?.(items.filter((_, i) => inserted[i]!.state !== "refused"));
    clock?.lap("onMessages");
    for (const message of stored)
      written.push({ clientId: message.clientId, messageId: message._id, conversationId: message.conversationId });
    // After this batch's last write to the messages: the media worker then writes them alone.
    for (const message of stored) await this.deps.onMessageStored?.(message.clientId.toHexString(), message);
    clock?.lap("onMessageStored");
  }

  /**
   * The messages of a batch whose candidate the recruiter has not blocked. A blocked candidate's
   * message (Meta stops delivering after a block, but a redelivery or a late, unordered delivery of
   * an earlier message may still come) is not routed to the recruiter: no conversation is opened or
   * counted, nothing is announced; it is recorded as a `blocked` webhook event holding only its
   * wamid, type, time and conversation id. One find for the whole batch (blockedCandidates).
   */
  private async withoutBlocked<T extends { clientId: Types.ObjectId; event: MessageEvent; owners: number[] }>(
    items: T[],
    deliveries: PreparedDelivery[],
    outcomes: Array<ProcessResult | Error>,
  ): Promise<T[]> {
    const blocked = await this.deps.db.conversationStore.blockedCandidates(
      items.map(({ clientId, event }) => ({ clientId, phone: event.waId ?? null, userId: event.userId ?? null })),
    );
    if (!blocked.size) return items;
    const blockedIn = ({ clientId, event }: T) =>
      (event.waId ? blocked.get(blockedKey(clientId, event.waId)) : undefined) ??
      (event.userId ? blocked.get(blockedKey(clientId, event.userId)) : undefined);
    const isBlocked = (item: T) => blockedIn(item) !== undefined;
    for (const item of items.filter(isBlocked)) {
      const di = item.owners[0]!;
      const m = item.event.message;
      await logWebhookEvent(this.deps.db, deliveries[di]!.deliveryId, {
        kind: "blocked",
        field: "messages",
        wabaId: item.event.wabaId,
        phoneNumberId: item.event.phoneNumberId,
        clientId: item.clientId,
        // The conversation's id: a candidate's erasure finds (and deletes) the record by it.
        value: { wamid: m.wamid, type: m.type, timestamp: m.timestamp, conversationId: blockedIn(item) },
        problem: "the recruiter blocked this candidate: not routed",
      });
      const r = outcomes[di];
      if (r && !(r instanceof Error)) r.recorded++;
    }
    return items.filter((i) => !isBlocked(i));
  }

  /**
   * Counts the owed messages in their conversations, announces the conversations, then releases the claims.
   * Returns the conversations that no longer exist when counted (merged into another meanwhile, or
   * erased), with the refs of the messages written to them, and the merges waiting for this count
   * (conversations marked `mergedInto`).
   */
  private async recordCounts(
    owed: Array<{ item: { clientId: Types.ObjectId; event: MessageEvent }; message: MessageDoc; takenOver: boolean }>,
    clock: StepClock | null = null,
  ): Promise<{ vanished: Vanished[]; waiting: MergePlan[] }> {
    if (!owed.length) return { vanished: [], waiting: [] };
    const conversations = this.conversations;
    const byConversation = new Map<string, ConversationInbound>();
    for (const { item, message, takenOver } of owed) {
      const k = message.conversationId.toHexString();
      const c = byConversation.get(k) ?? {
        clientId: message.clientId,
        conversationId: message.conversationId,
        messages: [],
      };
      c.messages.push({
        messageId: message._id,
        takenOver,
        timestamp: item.event.message.timestamp,
        receivedAt: message.receivedAt,
        sortKey: messageSortKey(item.event.message.timestamp, inboundDedupeKey(item.event.message.wamid)),
        preview: item.event.message.text,
        type: item.event.message.type,
        opensWindow: opensWindow(item.event.message.type),
        ...(item.event.profileName ? { profileName: item.event.profileName } : {}),
        ...(item.event.username ? { username: item.event.username } : {}),
        ...(item.event.parentUserId ? { parentUserId: item.event.parentUserId } : {}),
        ...(item.event.identityChange ? { identityChange: identityMove(item.event.identityChange) } : {}),
      });
      byConversation.set(k, c);
    }
    if (clock) clock.conversations = byConversation.size;
    // Besides counters: ids recorded or moved by an identity change, the username (named in `updates`).
    // One writer per conversation across processes: FerretDB v1 loses concurrent updates of one
    // document (and the check of counted ids must not race another process's count).
    const changed: Awaited<ReturnType<typeof conversations.recordInbound>> = new Map();
    const views: Awaited<ReturnType<typeof conversations.read>> = [];
    for (let pending = [...byConversation.keys()].sort(); pending.length;) {
      const lock = this.deps.lockConversations
        ? await this.deps.lockConversations(pending)
        : { held: pending, release: () => Promise.resolve() };
      clock?.lap("lockWait");
      const part = lock.held.map((k) => byConversation.get(k)!);
      const done = new Set(lock.held);
      pending = pending.filter((k) => !done.has(k));
      try {
        // Ids found missing in conversations outside the batch go with its last part (as one write would).
        const written = await conversations.recordInbound(part, new Date(), {
          fills: pending.length ? "batch" : "all",
        });
        for (const [k, v] of written) changed.set(k, v);
        clock?.lap("recordInbound");
        views.push(...(await conversations.read(part)));
        clock?.lap("readConversations");
      } finally {
        await lock.release();
        clock?.lap("lockRelease");
      }
    }
    await this.deps
      .onConversationsWritten?.(views)
      .catch((err: unknown) => this.deps.logger.warn({ err }, "candidates' windows not copied to the send state"));
    clock?.lap("windowsToSendState");

    for (const view of views) {
      this.deps.events.toClient(
        view.clientId.toHexString(),
        EVENTS.conversationUpdated,
        conversationUpdated(conversationJson(view), [
          ...CONVERSATION_CHANGES.inboundMessage,
          ...(changed.get(view._id.toHexString()) ?? []),
        ]),
      );
    }
    clock?.lap("emit");
    // Last: until here a retry must find these messages claimed, and count and announce them.
    await this.messages.release(owed.map((o) => o.message));
    clock?.lap("claimsRelease");
    const read = new Set(views.map((v) => v._id.toHexString()));
    const vanished = new Map<string, Vanished>();
    for (const { item, message } of owed) {
      const k = message.conversationId.toHexString();
      if (read.has(k)) continue;
      const v = vanished.get(k) ?? { clientId: message.clientId, conversationId: message.conversationId, refs: [] };
      v.refs.push(refOf(item));
      vanished.set(k, v);
    }
    const waiting = views
      .filter((v) => v.mergedInto)
      .map((v) => ({ clientId: v.clientId, into: v.mergedInto!, from: [v._id] }));
    return { vanished: [...vanished.values()], waiting };
  }

  /**
   * One person, one conversation: a message from a candidate's new number can be stored before the
   * notice of their number change (Meta delivers unordered, at least once, to many workers), and
   * then opens a conversation of its own. After each batch, the conversations it created, moved by
   * an identity change, or found doubled are checked for twins (one find, only then), and twins are
   * merged into the oldest (ConversationMerger: messages re-pointed, counters recomputed, the newer
   * deleted), under the conversations' locks. A conversation that vanished while this batch wrote to
   * it (merged by another worker whose cache this one's lagged behind) has what this batch wrote
   * moved to the person's conversation. Idempotent: redeliveries and other workers redo nothing twice.
   */
  private async mergeTwins(
    conversations: ConversationBatch,
    owed: Array<{ item: { clientId: Types.ObjectId; event: MessageEvent }; message: MessageDoc }>,
    { vanished, waiting }: { vanished: Vanished[]; waiting: MergePlan[] },
  ): Promise<void> {
    const seeds: MergeSeed[] = conversations.takeMergeSeeds();
    for (const { item, message } of owed) {
      const change = item.event.identityChange;
      if (!change) continue;
      const userId = change.kind === "user_id" ? change.to : change.userId?.to;
      seeds.push({
        clientId: message.clientId,
        conversationId: message.conversationId,
        ids: { phones: change.kind === "phone" ? [change.to] : [], userIds: userId ? [userId] : [] },
      });
    }
    const plans: MergePlan[] = [...waiting, ...(seeds.length ? await this.merger.plan(seeds) : [])];
    if (vanished.length) {
      conversations.forgetConversations(new Set(vanished.map((v) => v.conversationId.toHexString())));
      const found = await conversations.locate(vanished.flatMap((v) => v.refs));
      for (const v of vanished) {
        const into = found.get(`${v.clientId.toHexString()}|${v.refs[0]!.candidateKey}`);
        if (into && !into.equals(v.conversationId))
          plans.push({ clientId: v.clientId, into, from: [v.conversationId] });
      }
    }
    for (const plan of plans) await this.merge(conversations, plan);
  }

  /** Runs one merge under the locks of its conversations, then tells the dashboards and the other processes. */
  private async merge(conversations: ConversationBatch, plan: MergePlan): Promise<void> {
    const ids = [plan.into, ...plan.from].map((id) => id.toHexString()).sort();
    const lock = await this.deps.lockConversations?.(ids, { all: true });
    let result: Awaited<ReturnType<ConversationMerger["merge"]>>;
    try {
      result = await this.merger.merge(plan);
    } finally {
      await lock?.release();
    }
    const clientId = plan.clientId.toHexString();
    const gone = new Set(plan.from.map((id) => id.toHexString()));
    conversations.forgetConversations(gone);
    if (!result.view) return;
    this.deps.logger.info(
      { clientId, into: plan.into.toHexString(), merged: [...gone], moved: result.moved },
      "conversations of one person merged",
    );
    if (result.deleted.length)
      await this.deps
        .onConversationsMerged?.({ clientId, conversationIds: result.deleted.map((id) => id.toHexString()) })
        .catch((err: unknown) => this.deps.logger.warn({ err }, "merged conversations not announced to the workers"));
    for (const id of result.deleted)
      this.deps.events.toClient(clientId, EVENTS.conversationDeleted, {
        clientId,
        conversationId: id.toHexString(),
        reason: "merged",
        mergedInto: plan.into.toHexString(),
      });
    await this.deps
      .onConversationsWritten?.([result.view])
      .catch((err: unknown) => this.deps.logger.warn({ err }, "candidates' windows not copied to the send state"));
    this.deps.events.toClient(
      clientId,
      EVENTS.conversationUpdated,
      conversationUpdated(conversationJson(result.view), [
        ...CONVERSATION_CHANGES.inboundMessage,
        "candidatePhone",
        "candidateUserId",
      ]),
    );
  }

  private async applyStatuses(
    deliveries: PreparedDelivery[],
    outcomes: Array<ProcessResult | Error>,
    written: WrittenRef[],
  ): Promise<void> {
    const items = deliveries.flatMap((d, di) => d.statuses.map((s) => ({ ...s, di })));
    if (!items.length) return;
    const applied = await this.deps.db.messageStore.applyStatuses(items);
    const hooks = new Map<string, Array<() => Promise<void>>>();
    items.forEach(({ clientId, status, di }, i) => {
      const outcome = applied[i]!;
      const result = outcomes[di];
      if (!(result instanceof Error)) result!.statuses++;
      if (outcome.outcome === "pending") return;
      if (outcome.message)
        written.push({
          clientId,
          messageId: outcome.message._id,
          conversationId: outcome.message.conversationId,
        });
      const id = clientId.toHexString();
      if (outcome.outcome === "applied" && outcome.message && isMessageStatus(outcome.message.status)) {
        this.deps.events.toClient(
          id,
          EVENTS.messageStatus,
          messageStatus({
            clientId: id,
            conversationId: outcome.message.conversationId.toHexString(),
            messageId: outcome.message._id.toHexString(),
            wamid: outcome.message.wamid ?? status.wamid,
            status: outcome.message.status,
            at: status.timestamp,
            error: outcome.message.error ?? null,
            pricing: outcome.message.pricing ?? null,
          }),
        );
      }
      const onStatus = this.deps.onStatus;
      if (!onStatus) return;
      // One message's reactions one after the other, different messages' at once.
      const k = outcome.message?._id.toHexString() ?? `${id}|${status.wamid}`;
      const list = hooks.get(k) ?? [];
      list.push(() => onStatus(this.tenant(clientId), status, outcome));
      hooks.set(k, list);
    });
    await Promise.all(
      [...hooks.values()].map(async (list) => {
        for (const run of list) await run();
      }),
    );
  }

  private tenant(clientId: Types.ObjectId): TenantData {
    const k = clientId.toHexString();
    let t = this.tenants.get(k);
    if (!t) {
      if (this.tenants.size > 10_000) this.tenants.clear();
      t = this.deps.db.forTenant(clientId);
      this.tenants.set(k, t);
    }
    return t;
  }

  private async handleAccountEvent(deliveryId: string, event: AccountEvent): Promise<void> {
    const logged = await logWebhookEvent(this.deps.db, deliveryId, {
      kind: "account",
      field: event.field,
      wabaId: event.wabaId,
      valid: event.valid,
      problem: event.problem ?? null,
      value: event.value,
      eventTime: event.time ?? null,
    });
    // Own entries only: a field named `__proto__` or `constructor` has no handler.
    const handlers = this.deps.accountHandlers;
    const handler = handlers && Object.hasOwn(handlers, event.field) ? handlers[event.field] : undefined;
    if (!handler || !event.valid) return;
    const done = await this.deps.db.webhookEvents.findOne({ _id: logged.id }, { handledAt: 1 }).lean();
    if (done?.handledAt) return; // a redelivery of an event already acted on
    await handler(event, { db: this.deps.db, events: this.deps.events, logger: this.deps.logger, deliveryId });
    await this.deps.db.webhookEvents.updateOne({ _id: logged.id }, { $set: { handledAt: new Date() } });
  }
}
