import type { Types } from "mongoose";
import type { Logger } from "pino";
import {
  conversationJson,
  messageJson,
  messageSortKey,
  inboundDedupeKey,
  KeyedMutex,
  type Database,
  type MessageDoc,
  type StatusOutcome,
  type TenantData,
} from "@linkojob/db";
import { EVENTS, type DashboardEvents } from "@linkojob/events";
import { normalizeDelivery, type InboundEvent, type NormalizedStatus } from "@linkojob/whatsapp";
import type { ClientDirectory } from "./client-directory";
import { logWebhookEvent } from "./webhook-event-log";

type MessageEvent = Extract<InboundEvent, { kind: "message" }>;
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
  /** Called for each message this delivery stored (or, on a retry, may have stored): media fetches are enqueued here. */
  onMessageStored?: (clientId: string, message: MessageDoc) => Promise<void>;
}

export interface ProcessResult {
  messagesStored: number;
  duplicates: number;
  statuses: number;
  unrouted: number;
  recorded: number;
}

/** Messages that a candidate writes open (or renew) the 24-hour window; system notices do not. */
const opensWindow = (type: string) => type !== "system";

/**
 * Processes one webhook delivery completely: every entry, change, message, status and error. Each
 * write is idempotent and commutes with the others, so a delivery processed twice, or deliveries
 * processed in any order, end in the same state.
 */
export class DeliveryProcessor {
  /** Serialises, within this process, the writes to one conversation or one message (see KeyedMutex). */
  private readonly locks = new KeyedMutex();

  constructor(private readonly deps: DeliveryProcessorDeps) {}

  async process(deliveryId: string, body: string, opts: { isRetry?: boolean } = {}): Promise<ProcessResult> {
    const events = normalizeDelivery(JSON.parse(body));
    const result: ProcessResult = { messagesStored: 0, duplicates: 0, statuses: 0, unrouted: 0, recorded: 0 };

    // Messages are grouped by conversation: the summary and counters are written once per group.
    const groups = new Map<string, { tenant: TenantData; events: MessageEvent[] }>();
    const statuses: Array<{ tenant: TenantData; status: NormalizedStatus }> = [];

    for (const event of events) {
      switch (event.kind) {
        case "message":
        case "status": {
          const client = await this.deps.directory.lookup(event.phoneNumberId);
          if (!client) {
            result.unrouted++;
            await logWebhookEvent(this.deps.db, deliveryId, {
              kind: "unrouted",
              field: event.kind === "message" ? "messages" : "statuses",
              wabaId: event.wabaId,
              phoneNumberId: event.phoneNumberId,
              value: event.kind === "message" ? event.message : event.status,
              problem: "no client has this phone_number_id",
            });
            this.deps.logger.warn({ phoneNumberId: event.phoneNumberId, deliveryId }, "webhook for a number no client has; recorded and skipped");
            continue;
          }
          const tenant = this.deps.db.forTenant(client.clientId);
          if (event.kind === "status") {
            statuses.push({ tenant, status: event.status });
          } else {
            const key = `${client.clientId.toHexString()}|${event.candidateKey}`;
            const group = groups.get(key) ?? { tenant, events: [] };
            group.events.push(event);
            groups.set(key, group);
          }
          break;
        }
        case "value_errors": {
          const client = await this.deps.directory.lookup(event.phoneNumberId);
          result.recorded++;
          await logWebhookEvent(this.deps.db, deliveryId, {
            kind: "value_errors",
            field: "messages",
            wabaId: event.wabaId,
            phoneNumberId: event.phoneNumberId,
            clientId: client?.clientId ?? null,
            value: event.errors,
          });
          this.deps.logger.warn({ phoneNumberId: event.phoneNumberId, errors: event.errors }, "Meta reported account-level errors");
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
          });
          this.deps.logger.warn({ deliveryId, field: event.field, reason: event.reason }, "malformed webhook element recorded");
          break;
      }
    }

    for (const [key, group] of groups) {
      const stored = await this.locks.run(`conv:${key}`, () =>
        this.storeConversationMessages(group.tenant, group.events, opts.isRetry ?? false),
      );
      result.messagesStored += stored.inserted;
      result.duplicates += stored.duplicates;
    }
    // Statuses after messages: a delivery may carry a message and statuses about it.
    for (const { tenant, status } of statuses) {
      result.statuses++;
      await this.locks.run(`msg:${tenant.clientId.toHexString()}|${status.wamid}`, () => this.applyStatus(tenant, status));
    }
    return result;
  }

  private async storeConversationMessages(tenant: TenantData, events: MessageEvent[], isRetry: boolean) {
    const first = events[0]!;
    const clientId = tenant.clientId.toHexString();
    const conversationId = await tenant.conversations.ensure({
      candidateKey: first.candidateKey,
      candidatePhone: events.find((e) => e.waId)?.waId ?? null,
      candidateUserId: events.find((e) => e.userId)?.userId ?? null,
    });
    let inserted = 0;
    let duplicates = 0;
    const fresh = [];
    for (const e of events) {
      const res = await tenant.messages.insertInbound(conversationId, e.message);
      if (res.inserted) inserted++;
      else duplicates++;
      // On a retry, the first attempt may have stored the message and died before announcing it.
      if (res.inserted || isRetry) fresh.push(res.message);
    }
    for (const m of fresh) await this.deps.onMessageStored?.(clientId, m);

    // Summary writes run on duplicates too: a crash between the insert and these must heal on retry.
    const latest = events.reduce((a, b) =>
      messageSortKey(b.message.timestamp, inboundDedupeKey(b.message.wamid)) > messageSortKey(a.message.timestamp, inboundDedupeKey(a.message.wamid)) ? b : a,
    );
    const candidateWrites = events.filter((e) => opensWindow(e.message.type));
    const latestCandidate = candidateWrites.reduce<MessageEvent | null>(
      (a, b) => (!a || b.message.timestamp >= a.message.timestamp ? b : a),
      null,
    );
    if (latestCandidate) {
      const named = events.filter((e) => e.profileName).reduce<MessageEvent | null>((a, b) => (!a || b.message.timestamp >= a.message.timestamp ? b : a), null);
      await tenant.conversations.recordCandidateActivity(conversationId, latestCandidate.message.timestamp, undefined);
      if (named) await tenant.conversations.recordCandidateActivity(conversationId, named.message.timestamp, named.profileName);
    }
    await tenant.conversations.recordMessage(conversationId, {
      at: latest.message.timestamp,
      sortKey: messageSortKey(latest.message.timestamp, inboundDedupeKey(latest.message.wamid)),
      from: "candidate",
      preview: latest.message.text,
      type: latest.message.type,
    });
    await tenant.conversations.refreshCounters(conversationId);

    for (const m of fresh) {
      this.deps.events.toClient(clientId, EVENTS.messageReceived, {
        clientId,
        conversationId: conversationId.toHexString(),
        message: messageJson(m),
      });
    }
    const conversation = await tenant.conversations.get(conversationId);
    if (conversation && (fresh.length || isRetry)) {
      this.deps.events.toClient(clientId, EVENTS.conversationUpdated, { conversation: conversationJson(conversation) });
    }
    return { inserted, duplicates };
  }

  private async applyStatus(tenant: TenantData, status: NormalizedStatus): Promise<void> {
    const outcome = await tenant.messages.applyStatus(status);
    if (outcome.outcome === "pending") return;
    if (outcome.outcome === "applied" && outcome.message) {
      const clientId = tenant.clientId.toHexString();
      this.deps.events.toClient(clientId, EVENTS.messageStatus, {
        clientId,
        conversationId: outcome.message.conversationId.toHexString(),
        messageId: outcome.message._id.toHexString(),
        wamid: outcome.message.wamid ?? status.wamid,
        status: outcome.message.status,
        timestamp: status.timestamp.toISOString(),
        error: outcome.message.error ?? null,
        pricing: outcome.message.pricing ?? null,
      });
    }
    if (this.deps.onStatus) await this.deps.onStatus(tenant, status, outcome);
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
    const handler = this.deps.accountHandlers?.[event.field];
    if (!handler || !event.valid) return;
    const done = await this.deps.db.webhookEvents.findOne({ _id: logged.id }, { handledAt: 1 }).lean();
    if (done?.handledAt) return; // a redelivery of an event already acted on
    await handler(event, { db: this.deps.db, events: this.deps.events, logger: this.deps.logger, deliveryId });
    await this.deps.db.webhookEvents.updateOne({ _id: logged.id as Types.ObjectId }, { $set: { handledAt: new Date() } });
  }
}
