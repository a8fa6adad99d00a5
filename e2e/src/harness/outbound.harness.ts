import pino from "pino";
import { request } from "undici";
import type { Redis } from "ioredis";
import type { ClientDoc, OutboundMessageDoc } from "@linkojob/db";
import { createRedis } from "@linkojob/queues";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { DashboardEvents } from "@linkojob/events";
import { InboundWorker } from "@linkojob/inbound-worker";
import { textMessageDelivery, messagingState, type MessagingState, simTemplate } from "@linkojob/meta-simulator";
import { TEST_SECRETS, eventually, tokenFor, FIRST_CONTACT_TEMPLATE } from "@linkojob/testing";
import { startTrunk, type Trunk } from "./trunk.harness.js";
import { OutboundWorker, type OutboundWorkerDeps } from "@linkojob/outbound-worker";
import { SendState, createTemplateStatusHandler } from "@linkojob/outbound";

/** What POST /api/messages/send answers: the accepted send, or the refusal with its error. */
export interface SendAnswer {
  success?: boolean;
  messageId: string;
  status?: string;
  kind?: string;
  cost?: number;
  error?: { code: string; message?: string; details?: unknown };
  [field: string]: unknown;
}

export interface OutboundRig {
  trunk: Trunk;
  outbound: OutboundWorker;
  inbound: InboundWorker;
  vault: TokenVault;
  sim: MessagingState;
  /** A connected client with a token, its number known to the simulator, templates synced. */
  client(
    over?: Partial<ClientDoc> & { templates?: ReturnType<typeof simTemplate>[] },
  ): Promise<ClientDoc & { token: string; jwt: string }>;
  send(
    jwt: string,
    body: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: SendAnswer }>;
  /** The candidate writes to the client's number (a signed inbound webhook), `agoMs` in the past. */
  candidateWrites(client: ClientDoc, phone: string, text: string, agoMs?: number): Promise<void>;
  message(client: ClientDoc, id: string): Promise<OutboundMessageDoc>;
  /** Waits until the message reaches one of these statuses. */
  until(client: ClientDoc, id: string, statuses: string[], timeoutMs?: number): Promise<OutboundMessageDoc>;
  /** Accepted sends at the simulator carrying this message id. */
  acceptedFor(id: string): MessagingState["accepted"];
  close(): Promise<void>;
}

export const APPLICATION_RECEIVED = (language = "fr") => simTemplate({ ...FIRST_CONTACT_TEMPLATE, language });

let seq = 0;

/**
 * The whole outbound path on real parts: ingress (send API) over HTTP → Redis/BullMQ → outbound worker
 * → simulator over HTTP → signed status webhooks → ingress → inbound worker (with the outbound status
 * hook) → FerretDB. Only Meta is simulated.
 */
export async function startOutbound(
  label: string,
  over: Partial<OutboundWorkerDeps> = {},
  trunkOptions: Pick<Parameters<typeof startTrunk>[0], "ingress" | "onboarding"> = {},
): Promise<OutboundRig> {
  const trunk = await startTrunk({ label, startWorker: false, ...trunkOptions });
  const redisUrl = trunk.services.redisUrl;
  const conns: Redis[] = [];
  const r = (o: Parameters<typeof createRedis>[1] = {}) => {
    const c = createRedis(redisUrl, o);
    conns.push(c);
    return c;
  };
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const vault = new TokenVault([TEST_SECRETS.tokenKey]);
  const graph = new GraphClient({ baseUrl: trunk.sim.url, version: "v26.0", connections: 16 });
  const events = new DashboardEvents(r());
  const outbound = new OutboundWorker({
    db: trunk.db,
    queueRedis: r(),
    redis: r(),
    subscriberRedis: r({ autoPipelining: false }),
    graph,
    vault,
    events,
    logger,
    prefix: trunk.services.prefix,
    concurrency: 16,
    retryBaseMs: 100,
    templateSyncIntervalMs: 0,
    send: { uncertainGraceMs: 1_500, sendTimeoutMs: 1_000 },
    // Tests use a faster pair rule than Meta's 6 s (the simulator is set to match below).
    pacing: { recipientIntervalMs: 1_100, recipientBurst: 2 },
    ...over,
  });
  const inbound = new InboundWorker({
    db: trunk.db,
    queueRedis: r(),
    pumpRedis: r({ autoPipelining: false }),
    subscriberRedis: r({ autoPipelining: false }),
    events,
    logger,
    prefix: trunk.services.prefix,
    concurrency: 8,
    onStatus: outbound.statusHook,
    accountHandlers: {
      message_template_status_update: createTemplateStatusHandler({
        publisher: r(),
        sendState: new SendState({ redis: r(), prefix: trunk.services.prefix, db: trunk.db }),
      }),
    },
  });
  await inbound.start();
  await outbound.start();
  const sim = messagingState(trunk.sim.state);
  sim.limits.pairBurst = 2;
  sim.limits.pairIntervalMs = 1_000;

  const rig: OutboundRig = {
    trunk,
    outbound,
    inbound,
    vault,
    sim,
    async client(o = {}) {
      const { templates, ...fields } = o;
      const token = `tok-${trunk.services.id}-${++seq}`;
      const c = await trunk.createClient({ accessToken: vault.encrypt(token), ...fields });
      sim.numbers.set(c.phoneNumberId, c.wabaId);
      sim.templates.set(c.wabaId, templates ?? [APPLICATION_RECEIVED()]);
      await outbound.syncTemplates(c._id.toHexString());
      return { ...c, token, jwt: await tokenFor(c.userId, "recruiter") };
    },
    async send(jwt, body, headers = {}) {
      const res = await request(`${trunk.ingressUrl}/api/messages/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: (await res.body.json()) as SendAnswer };
    },
    async candidateWrites(client, phone, text, agoMs = 0) {
      const ts = String(Math.floor((Date.now() - agoMs) / 1000));
      const res = await trunk.sim.deliver(
        textMessageDelivery(
          { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId },
          { waId: phone, name: "Yasmine" },
          text,
          { timestamp: ts },
        ),
      );
      if (res.status !== 200) throw new Error(`ingress answered ${res.status}`);
      await trunk.drain();
    },
    async message(client, id) {
      const m = await trunk.db.forTenant(client._id).outbound.get(id);
      if (!m) throw new Error(`message ${id} not found`);
      return m;
    },
    async until(client, id, statuses, timeoutMs = 20_000) {
      return eventually(async () => {
        const m = await rig.message(client, id);
        return statuses.includes(m.status) ? m : null;
      }, timeoutMs);
    },
    acceptedFor(id) {
      return sim.accepted.filter((m) => m.bizOpaque === id);
    },
    async close() {
      await outbound.close();
      await inbound.close();
      await graph.close();
      await trunk.close();
      await Promise.allSettled(conns.map((c) => c.quit()));
    },
  };
  return rig;
}
