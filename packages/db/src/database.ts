import mongoose, { type Connection, type Model, type Types } from "mongoose";
import { clientModel, type ClientDoc } from "./clients/client.model.js";
import { conversationModel, type ConversationDoc } from "./conversations/conversation.model.js";
import { ConversationRepository, type TenantConversations } from "./conversations/conversation.repository.js";
import { messageModel, pendingStatusModel, type MessageDoc, type PendingStatusDoc } from "./messages/message.model.js";
import { MessageRepository, type TenantMessages } from "./messages/message.repository.js";
import type { OutboundMessages } from "./messages/outbound-messages.js";
import { BulkWriter } from "./ferretdb-adapter.js";
import { templateModel, type TemplateDoc } from "./templates/template.model.js";
import { TemplateRepository } from "./templates/template.repository.js";
import { webhookEventModel, type WebhookEventDoc } from "./webhook-events/webhook-event.model.js";
import { erasedCostModel, erasureModel, type ErasedCostDoc, type ErasureDoc } from "./erasures/erasure.model.js";
import { toObjectId } from "./ids.js";
import { optOutChangeModel, optOutModel, type OptOutChangeDoc, type OptOutDoc } from "./opt-outs/opt-out.model.js";
import { OptOutRepository } from "./opt-outs/opt-out.repository.js";
import {
  analyticsApplicationModel,
  analyticsCounterModel,
  type AnalyticsApplicationDoc,
  type AnalyticsCounterDoc,
} from "./analytics/analytics.model.js";
import { AnalyticsProjector, type AnalyticsProjectorOptions } from "./analytics/analytics-projector.js";
import {
  campaignModel,
  campaignRecipientChunkModel,
  type CampaignDoc,
  type CampaignRecipientChunkDoc,
} from "./campaigns/campaign.model.js";
import { CampaignRepository } from "./campaigns/campaign.repository.js";
import { HeartbeatWatchdog, type HeartbeatStall } from "./heartbeat-watchdog.js";

/**
 * One tenant's data. Obtained only through Database.forTenant, so every query names the tenant. Its
 * views come from the collections' repositories (`db.conversationStore`, `db.messageStore`).
 */
export interface TenantData {
  clientId: Types.ObjectId;
  conversations: TenantConversations;
  messages: TenantMessages;
  /** Outbound sends: queued → sending → sent / failed / held. */
  outbound: OutboundMessages;
  /** The templates of this client's WABA. */
  templates: TemplateRepository;
}

export interface DatabaseOptions {
  /** Connection pool size per process (driver default 100 is too many for hundreds of workers on Atlas). */
  maxPoolSize?: number;
  /**
   * Emit the driver's command monitoring events (`commandStarted`…) on `connection.getClient()`.
   * Benchmarks and tests count database requests per message with them. Default false.
   */
  monitorCommands?: boolean;
  /**
   * A server heartbeat outstanding this long means the driver's monitor is stuck, and the connection
   * is reopened (see HeartbeatWatchdog). Default 25 s: the heartbeat's own socket timeout
   * (connectTimeoutMS, 10 s here) plus the heartbeat interval (10 s) plus 5 s.
   */
  heartbeatStallMs?: number;
  /** Told when a stuck monitor makes the connection reopen (the process's logger). */
  onHeartbeatStall?: (stall: HeartbeatStall) => void;
  /** Told when reopening failed (it is tried again each second). */
  onReopenFailed?: (err: unknown) => void;
}

/** The driver options of every connection (reopened with the same). */
const driverOptions = (options: DatabaseOptions) => ({
  maxPoolSize: options.maxPoolSize ?? 20,
  serverSelectionTimeoutMS: 10_000,
  connectTimeoutMS: 10_000,
  heartbeatFrequencyMS: 10_000,
  autoIndex: false,
  autoCreate: true,
  monitorCommands: options.monitorCommands ?? false,
});

/**
 * The MongoDB connection and its models. Whoever creates it also closes it; nothing here connects at
 * import time.
 */
export class Database {
  readonly connection: Connection;
  readonly clients: Model<ClientDoc>;
  readonly conversations: Model<ConversationDoc>;
  readonly messages: Model<MessageDoc>;
  readonly pendingStatuses: Model<PendingStatusDoc>;
  readonly webhookEvents: Model<WebhookEventDoc>;
  readonly templates: Model<TemplateDoc>;
  /** The candidates' opt-out register and its audit trail (opt-outs/). */
  readonly optOuts: Model<OptOutDoc>;
  readonly optOutChanges: Model<OptOutChangeDoc>;
  /** Candidate erasures and their progress. */
  readonly erasures: Model<ErasureDoc>;
  /** The anonymised cost rows of erased outbound messages (cost totals survive an erasure). */
  readonly erasedCosts: Model<ErasedCostDoc>;
  /** Analytics counters (one document per tenant × day × scope) and the applications messaged. */
  readonly analyticsCounters: Model<AnalyticsCounterDoc>;
  readonly analyticsApplications: Model<AnalyticsApplicationDoc>;
  /** Campaigns: one template to many candidates of a tenant (their messages carry `campaignId`). */
  readonly campaigns: Model<CampaignDoc>;
  /** A campaign's recipients while it is expanded (chunks, deleted once queued). */
  readonly campaignRecipients: Model<CampaignRecipientChunkDoc>;
  /**
   * How this connection's batched updates are cut into commands: decided once at connect from the
   * server's buildInfo (FerretDB's limits, see ferretdb-adapter.ts). The repositories' batch
   * writers use it; tests read its `statementsPerCommand` to count requests.
   */
  readonly batchWriter: BulkWriter;
  /** The `conversations` collection's repository: the only way production code outside this package writes it. */
  readonly conversationStore: ConversationRepository;
  /** The `messages` (and `pending_statuses`) repository: the only way production code outside this package writes them. */
  readonly messageStore: MessageRepository;
  private closed = false;
  private watchdog: HeartbeatWatchdog | null = null;

  private constructor(connection: Connection, batchWriter: BulkWriter) {
    this.connection = connection;
    this.batchWriter = batchWriter;
    this.clients = clientModel(connection);
    this.conversations = conversationModel(connection);
    this.messages = messageModel(connection);
    this.pendingStatuses = pendingStatusModel(connection);
    this.webhookEvents = webhookEventModel(connection);
    this.templates = templateModel(connection);
    this.optOuts = optOutModel(connection);
    this.optOutChanges = optOutChangeModel(connection);
    this.erasures = erasureModel(connection);
    this.erasedCosts = erasedCostModel(connection);
    this.analyticsCounters = analyticsCounterModel(connection);
    this.analyticsApplications = analyticsApplicationModel(connection);
    this.campaigns = campaignModel(connection);
    this.campaignRecipients = campaignRecipientChunkModel(connection);
    this.conversationStore = new ConversationRepository(this.conversations, this.messages, batchWriter);
    this.messageStore = new MessageRepository(
      { messages: this.messages, pendingStatuses: this.pendingStatuses, erasedCosts: this.erasedCosts },
      batchWriter,
    );
  }

  /** The analytics counters' writer and reader (`lock` serialises counter writes across processes on FerretDB). */
  analytics(opts: AnalyticsProjectorOptions = {}): AnalyticsProjector {
    return new AnalyticsProjector(
      {
        messages: this.messages,
        conversations: this.conversations,
        counters: this.analyticsCounters,
        applications: this.analyticsApplications,
      },
      opts,
      this.batchWriter,
    );
  }

  /** Connects and makes sure every index (the unique ones carry correctness) exists. */
  static async connect(uri: string, options: DatabaseOptions = {}): Promise<Database> {
    const connection = mongoose.createConnection(uri, driverOptions(options));
    await connection.asPromise();
    const db = new Database(connection, await BulkWriter.detect(connection));
    db.watchdog = new HeartbeatWatchdog(connection, {
      stallMs: options.heartbeatStallMs ?? 25_000,
      reopen: async () => {
        await connection.close();
        await connection.openUri(uri, driverOptions(options));
      },
      ...(options.onHeartbeatStall ? { onStall: options.onHeartbeatStall } : {}),
      ...(options.onReopenFailed ? { onReopenFailed: options.onReopenFailed } : {}),
    });
    await db.ensureIndexes();
    return db;
  }

  async ensureIndexes(): Promise<void> {
    const models: Array<Pick<Model<unknown>, "createCollection" | "createIndexes">> = [
      this.clients,
      this.conversations,
      this.messages,
      this.pendingStatuses,
      this.webhookEvents,
      this.templates,
      this.optOuts,
      this.optOutChanges,
      this.erasures,
      this.erasedCosts,
      this.analyticsCounters,
      this.analyticsApplications,
      this.campaigns,
      this.campaignRecipients,
    ];
    for (const model of models) {
      await model.createCollection().catch(() => undefined);
      await model.createIndexes();
    }
  }

  forTenant(clientId: Types.ObjectId | string): TenantData {
    const id = toObjectId(clientId, "clientId");
    return {
      clientId: id,
      conversations: this.conversationStore.of(id),
      messages: this.messageStore.of(id),
      outbound: this.messageStore.outboundOf(id),
      templates: new TemplateRepository(
        this.templates,
        async () => (await this.clients.findOne({ _id: id }, { wabaId: 1 }).lean())?.wabaId ?? null,
      ),
    };
  }

  /** One tenant's opt-out register (every query names the tenant). */
  optOutsOf(clientId: Types.ObjectId | string): OptOutRepository {
    return new OptOutRepository(this.optOuts, this.optOutChanges, toObjectId(clientId, "clientId"));
  }

  /** One tenant's campaigns (every query names the tenant). */
  campaignsOf(clientId: Types.ObjectId | string): CampaignRepository {
    return new CampaignRepository(this.campaigns, toObjectId(clientId, "clientId"), this.campaignRecipients);
  }

  /** One WABA's templates (template status webhooks name the WABA, not a client). */
  templatesForWaba(wabaId: string): TemplateRepository {
    return new TemplateRepository(this.templates, () => Promise.resolve(wabaId));
  }

  /** True when a ping answers (readiness). */
  async ping(): Promise<boolean> {
    try {
      await this.connection.db!.admin().ping();
      return true;
    } catch {
      return false;
    }
  }

  /** How many times a stuck driver monitor made this connection reopen. */
  get reopens(): number {
    return this.watchdog?.reopens ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watchdog?.stop();
    await this.connection.close();
  }
}
