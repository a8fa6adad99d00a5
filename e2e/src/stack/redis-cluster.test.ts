/**
 * The gateway on a Redis Cluster ("beyond one machine"): three masters started here
 * (redis-server --cluster-enabled yes, slots spread by redis-cli --cluster create), every process's
 * connections opened as main.ts opens them from REDIS_CLUSTER_NODES, and a hash-tagged QUEUE_PREFIX.
 * Through it: a signed webhook from the simulator to the listening ingress → stream → pump → inbound
 * worker → MongoDB-protocol server, with the dashboard event on a socket.io client of a realtime node;
 * a send through POST /api/messages/send → outbound worker → simulator, and its status webhooks back.
 * A command spanning two slots fails on a cluster (CROSSSLOT), so any key left without the tag would
 * stop one of these paths. Only Meta is simulated.
 */
import { Redis } from "ioredis";
import { io as connectSocket, type Socket } from "socket.io-client";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envVars, parseEnv } from "@linkojob/config";
import type { ClientDoc, Database } from "@linkojob/db";
import { EVENTS } from "@linkojob/events";
import { textMessageDelivery, type MessagingState, type MetaSimulator } from "@linkojob/meta-simulator";
import { OUTBOUND_QUEUE, WEBHOOK_QUEUE } from "@linkojob/queues";
import { eventually, startRedisCluster, testServices, type OwnRedisCluster } from "@linkojob/testing";
import { startStack, type Stack } from "../harness/stack.harness.js";
import { isEvent, recordEvents, type ReceivedEvent } from "../harness/dashboard-events.harness.js";

const hasRedisServer = await import("node:child_process").then(({ execFileSync }) => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    execFileSync("redis-cli", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});
if (!hasRedisServer)
  console.warn(
    "[e2e] SKIPPED the Redis Cluster test: redis-server / redis-cli not found (apt-get install redis-server).",
  );

describe.skipIf(!hasRedisServer)("the gateway on a 3-master Redis Cluster", () => {
  const services = testServices("cluster");
  const sockets: Socket[] = [];
  let cluster: OwnRedisCluster;
  let stack: Stack | undefined;
  let prefix: string;
  let db: Database;
  let sim: MetaSimulator;
  let simState: MessagingState;
  let realtimeUrl: string;
  let ingressUrl: string;
  let client: ClientDoc;
  let jwt: string;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    // The variables as an operator sets them, parsed by the same schema as every app's env.ts.
    const env = parseEnv(
      {
        REDIS_URL: envVars.redisUrl,
        REDIS_CLUSTER_NODES: envVars.redisClusterNodes,
        QUEUE_PREFIX: envVars.queuePrefix,
      },
      {
        REDIS_URL: "redis://127.0.0.1:6379",
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
        QUEUE_PREFIX: `{${services.prefix}}`,
      },
    );
    stack = await startStack({
      services,
      redisTarget: { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES },
      onRedisConnection: (c) => c.on("error", () => undefined),
      prefix: env.QUEUE_PREFIX,
      redisReadyTimeoutMs: 20_000,
      concurrency: 4,
      client: {
        companyName: "Cluster Recrutement",
        phoneNumberId: `1088${Date.now() % 1_000_000}`,
        wabaId: `2088${Date.now() % 1_000_000}`,
        whatsappNumber: "212522000088",
      },
    });
    ({ prefix, db, sim, simState, realtimeUrl, ingressUrl, client, jwt } = stack);
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await stack?.close();
    await cluster?.destroy();
  });

  /** A recruiter's dashboard on the realtime node: resolves once its rooms are joined (auth:session). */
  async function dashboard(): Promise<ReceivedEvent[]> {
    const socket = connectSocket(realtimeUrl, {
      transports: ["websocket"],
      auth: { token: jwt },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    const received = recordEvents(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("auth:session", () => resolve());
      socket.once("connect_error", reject);
    });
    return received;
  }

  it("stores an inbound message and shows it live on the dashboard", async () => {
    const received = await dashboard();
    const res = await sim.deliver(
      textMessageDelivery(
        { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId },
        { waId: "212611000001", name: "Salma" },
        "Bonjour, je postule via le cluster",
      ),
    );
    expect(res.status).toBe(200);

    const stored = await eventually(
      () =>
        db.messages
          .findOne({ clientId: client._id, direction: "inbound", text: "Bonjour, je postule via le cluster" })
          .lean(),
      30_000,
    );
    expect(stored).toMatchObject({ type: "text" });
    const event = await eventually(() => received.find(isEvent(EVENTS.messageReceived)), 30_000);
    expect(event.payload.clientId).toBe(client._id.toHexString());
    expect(event.payload.message).toMatchObject({
      text: "Bonjour, je postule via le cluster",
      from: "candidate",
      type: "text",
    });
  }, 60_000);

  it("sends a first-contact template once, and applies its status webhooks", async () => {
    const res = await request(`${ingressUrl}/api/messages/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      body: JSON.stringify({ candidatePhone: "0612000002", candidateName: "Karim", jobTitle: "Comptable" }),
    });
    const body = (await res.body.json()) as { messageId: string };
    expect(res.statusCode, JSON.stringify(body)).toBe(202);

    // The simulator answers sent → delivered → read through signed webhooks: the whole loop again.
    const read = await eventually(async () => {
      const m = await db.forTenant(client._id).outbound.get(body.messageId);
      return m?.status === "read" ? m : null;
    }, 30_000);
    const accepted = simState.accepted.filter((m) => m.bizOpaque === body.messageId);
    expect(accepted).toHaveLength(1);
    expect(read.wamid).toBe(accepted[0]!.wamid);
  }, 60_000);

  it("keeps every key of the deployment in the one slot of its hash tag", async () => {
    const owners: Array<{ port: number; keys: string[] }> = [];
    for (const n of cluster.nodes) {
      const node = new Redis({ host: n.host, port: n.port, lazyConnect: true });
      try {
        const keys: string[] = [];
        let cursor = "0";
        do {
          const [next, batch] = await node.scan(cursor, "MATCH", `*${services.prefix}*`, "COUNT", 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== "0");
        if (keys.length) owners.push({ port: n.port, keys });
      } finally {
        node.disconnect();
      }
    }
    expect(owners, "every key on one master").toHaveLength(1);
    const keys = owners[0]!.keys;
    expect(
      keys.every((k) => k.startsWith(`${prefix}:`)),
      keys.filter((k) => !k.startsWith(`${prefix}:`)).join(", "),
    ).toBe(true);
    expect(keys).toContain(`${prefix}:ingress:webhooks`);
    expect(keys.some((k) => k.startsWith(`${prefix}:${WEBHOOK_QUEUE}:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${prefix}:${OUTBOUND_QUEUE}:`))).toBe(true);
  });
});
