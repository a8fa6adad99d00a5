import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Queue } from "bullmq";
import { z } from "zod";
import { objectIdSchema, type CampaignDoc, type Database } from "@linkojob/db";
import type { OutboundJob } from "@linkojob/queues";
import {
  campaignAcceptedSchema,
  campaignCancelledSchema,
  campaignJson,
  campaignSchema,
  type CampaignAcceptedPayload,
  type CampaignCancelledPayload,
  type CampaignPayload,
} from "@linkojob/events";
import { EMPTY_CAMPAIGN_COUNTS, campaignRequestSchema, type CampaignProgress } from "@linkojob/outbound";
import type { Principal } from "@linkojob/auth";
import { notFound } from "../http/errors.js";
import type { TenantAccess } from "../auth/tenant-access.js";
import type { SendAcceptance } from "../sends/send-acceptance.js";
import type { CampaignAcceptance } from "./campaign-acceptance.js";
import { cancelCampaign } from "./campaign-cancel.js";

/** 10,000 recipients with their variables: up to ~2 MB of JSON; 8 MiB leaves room for long variables. */
export const CAMPAIGN_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

export interface CampaignRoutesOptions {
  db: Database;
  tenants: TenantAccess;
  queue: Queue<OutboundJob>;
  acceptance: SendAcceptance;
  campaigns: CampaignAcceptance;
  progress: CampaignProgress;
}

const params = z.strictObject({ id: objectIdSchema });

/** What GET answers, through the contract's serialiser: the live counts (Redis), else the stored copy. */
const campaignView = async (progress: CampaignProgress, c: CampaignDoc): Promise<CampaignPayload> =>
  campaignJson(c, (await progress.counts(c._id.toHexString())) ?? c.counts ?? EMPTY_CAMPAIGN_COUNTS);

/**
 * Campaigns: one approved template to up to 10,000 candidates of a client.
 * - `POST /api/campaigns` accepts it (202 `{ campaignId }` once stored; CampaignAcceptance), the
 *   outbound worker puts every recipient through the single send's checks (CampaignExpander);
 * - `GET /api/campaigns/:id` answers its counts (`queued, scheduled, sent, delivered, read, replied,
 *   failed, suppressed, cancelled`), also announced as `campaign:progress`;
 * - `POST /api/campaigns/:id/cancel` stops what has not gone.
 * Recruiters for their own client, the platform service and operators for any; another tenant's
 * campaign is 404 like one that does not exist.
 */
export const campaignRoutes: FastifyPluginCallback<CampaignRoutesOptions> = (base, opts, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  /** The campaign, if the principal may see its client's data (404 otherwise: no existence leak). */
  const campaignFor = async (principal: Principal, id: string): Promise<CampaignDoc> => {
    const c = await opts.db.campaigns.findById(id).lean<CampaignDoc>();
    if (!c) throw notFound("campaign");
    try {
      await opts.tenants.resolve(principal, c.clientId.toHexString());
    } catch {
      throw notFound("campaign");
    }
    return c;
  };

  app.post(
    "/api/campaigns",
    {
      bodyLimit: CAMPAIGN_BODY_LIMIT_BYTES,
      schema: {
        tags: ["campaigns"],
        summary: "Sends one approved template to up to 10,000 candidates of a client",
        description:
          "Answers 202 `{ campaignId }` once the campaign is checked and stored (the same idempotencyKey answers the same campaign); the outbound worker then expands it (status `expanding`, then `running`): each recipient goes through a single send's checks: opted-out candidates are counted `suppressed` and never sent, duplicates (the same phone or user id again) are dropped, the portfolio's messaging limit and quiet hours schedule what cannot go now. A bad recipient or a template the client cannot send refuses the whole request (4xx naming each problem) and stores nothing.",
        body: campaignRequestSchema,
        response: { 202: campaignAcceptedSchema },
      },
    },
    async (request, reply) => {
      const { campaignId, replay } = await opts.campaigns.accept(request.principal, request.body);
      if (replay) reply.header("idempotent-replayed", "true");
      return reply.code(202).send({ campaignId } satisfies CampaignAcceptedPayload);
    },
  );

  app.get(
    "/api/campaigns/:id",
    {
      schema: { tags: ["campaigns"], summary: "A campaign and its counts", params, response: { 200: campaignSchema } },
    },
    async (request) => campaignView(opts.progress, await campaignFor(request.principal, request.params.id)),
  );

  app.post(
    "/api/campaigns/:id/cancel",
    {
      schema: {
        tags: ["campaigns"],
        summary: "Stops what has not gone of a campaign",
        description:
          "Every message still queued or scheduled ends cancelled (counted in `suppressed` and `cancelled`) and never reaches Meta; what went is unaffected. Answers the campaign with `cancelled`, the messages this call stopped.",
        params,
        response: { 200: campaignCancelledSchema },
      },
    },
    async (request): Promise<CampaignCancelledPayload> => {
      const c = await campaignFor(request.principal, request.params.id);
      const { cancelled } = await cancelCampaign(opts, c.clientId.toHexString(), c._id.toHexString());
      const now = await opts.db.campaignsOf(c.clientId).get(c._id);
      return { ...(await campaignView(opts.progress, now ?? c)), cancelled };
    },
  );
  done();
};
