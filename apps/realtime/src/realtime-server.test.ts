import { beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { EVENTS, sampleClientStatus, sampleConversationUpdated, sampleMessageReceived } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { TEST_SECRETS, eventually, startRedisServer, tokenFor } from "@linkojob/testing";
import { SOCKET_EVENTS, type SessionInfo } from "./protocol.js";
import { createRealtimeServer } from "./realtime-server.js";
import {
  connect,
  createTenant,
  randomUserId,
  refusal,
  realtimeRig,
  type RunningNode,
  type TestSocket,
} from "./socket-clients.harness.js";

const rig = realtimeRig("realtime");
let nodeA: RunningNode;
let nodeB: RunningNode;

beforeAll(async () => {
  [nodeA, nodeB] = await Promise.all([rig.startNode(), rig.startNode()]);
});

/** Dashboard events only (auth:* are the session's own). */
const dashboardEvents = (s: TestSocket) => s.received.filter((r) => !r.event.startsWith("auth:"));

/**
 * Publishes a marker to every given client's room and waits until each socket has it. Redis delivers
 * one connection's publications in order and each socket receives in order, so once a socket has the
 * marker, everything published before it that was ever going to reach that socket has arrived.
 */
async function flush(clientIds: string[], sockets: TestSocket[]) {
  const marker = `marker-${Math.random()}`;
  for (const id of clientIds) rig.events.toClient(id, EVENTS.clientStatus, sampleClientStatus(id, marker));
  await eventually(() =>
    sockets.every((s) => s.payloads(EVENTS.clientStatus).some((p) => (p as { detail?: string }).detail === marker)),
  );
  for (const s of sockets)
    s.received.splice(
      0,
      s.received.length,
      ...s.received.filter((r) => (r.payload as { detail?: string } | undefined)?.detail !== marker),
    );
}

describe("two realtime nodes behind no sticky balancer", () => {
  it("delivers an emitter's event for a tenant to that tenant's sockets on both nodes, and to no other tenant", async () => {
    const userA = randomUserId("a");
    const userB = randomUserId("b");
    const [clientA, clientB] = await Promise.all([createTenant(rig.db, userA), createTenant(rig.db, userB)]);
    const tokenA = await tokenFor(userA);
    const tokenB = await tokenFor(userB);
    const aOnNodeA = await connect(nodeA.url, { token: tokenA });
    const aOnNodeB = await connect(nodeB.url, { token: tokenA });
    const bOnNodeA = await connect(nodeA.url, { token: tokenB });
    const bOnNodeB = await connect(nodeB.url, { token: tokenB });
    const all = [aOnNodeA, aOnNodeB, bOnNodeA, bOnNodeB];

    // A dashboard has no way to ask for a room: whatever it emits, it stays in its own.
    aOnNodeA.socket.emit("join", `client:${clientB}`);
    aOnNodeA.socket.emit("subscribe", { room: `client:${clientB}`, clientId: clientB });
    // auth:refresh is answered after the two packets above were handled (one socket's packets are handled in order).
    await aOnNodeA.socket.emitWithAck(SOCKET_EVENTS.refresh, { token: "not-a-token" });

    rig.events.toClient(clientA, EVENTS.messageReceived, sampleMessageReceived(clientA, "for A"));
    rig.events.toClient(clientB, EVENTS.messageReceived, sampleMessageReceived(clientB, "for B"));
    await flush([clientA, clientB], all);

    for (const s of [aOnNodeA, aOnNodeB]) {
      expect(dashboardEvents(s)).toEqual([
        { event: EVENTS.messageReceived, payload: sampleMessageReceived(clientA, "for A") },
      ]);
    }
    for (const s of [bOnNodeA, bOnNodeB]) {
      expect(dashboardEvents(s)).toEqual([
        { event: EVENTS.messageReceived, payload: sampleMessageReceived(clientB, "for B") },
      ]);
    }
  });

  it("refuses, on either node, a recruiter naming another tenant's clientId", async () => {
    const userA = randomUserId("a");
    const userB = randomUserId("b");
    await createTenant(rig.db, userA);
    const clientB = await createTenant(rig.db, userB);
    const token = await tokenFor(userA);
    for (const node of [nodeA, nodeB]) {
      const err = await refusal(node.url, { token, clientId: clientB });
      expect(err.data?.code).toBe("FORBIDDEN");
    }
  });

  it("puts a recruiter with several clients in every one of their rooms, or only in the one it names", async () => {
    const user = randomUserId("multi");
    const [first, second] = [await createTenant(rig.db, user), await createTenant(rig.db, user)];
    const both = await connect(nodeA.url, { token: await tokenFor(user) });
    const onlySecond = await connect(nodeB.url, { token: await tokenFor(user), clientId: second });

    const session = (await eventually(() => both.payloads(SOCKET_EVENTS.session)[0])) as SessionInfo;
    expect([...session.clientIds].sort()).toEqual([first, second].sort());
    expect(((await eventually(() => onlySecond.payloads(SOCKET_EVENTS.session)[0])) as SessionInfo).clientIds).toEqual([
      second,
    ]);

    rig.events.toClient(first, EVENTS.conversationUpdated, sampleConversationUpdated(first));
    rig.events.toClient(second, EVENTS.conversationUpdated, sampleConversationUpdated(second));
    await flush([first, second], [both, onlySecond]);

    expect(both.payloads(EVENTS.conversationUpdated)).toEqual([
      sampleConversationUpdated(first),
      sampleConversationUpdated(second),
    ]);
    expect(onlySecond.payloads(EVENTS.conversationUpdated)).toEqual([sampleConversationUpdated(second)]);
  });
});

describe("HTTP routes", () => {
  it("answers /health, /ready (Redis and MongoDB reachable) and the browser client on the socket port", async () => {
    const health = await fetch(`${nodeA.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${nodeA.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { redis: true, mongo: true } });
    expect((await fetch(`${nodeA.url}/nope`)).status).toBe(404);
    const browserClient = await fetch(`${nodeA.url}/socket.io/socket.io.min.js`);
    expect(browserClient.status).toBe(200);
    expect(await browserClient.text()).toContain("Socket.IO");
  });

  it("answers /ready 503 while its Redis is down, and 200 again once it is back", async () => {
    const redis = await startRedisServer();
    const node = await rig.startNode({ redisUrl: redis.url, readinessTimeoutMs: 500 });
    try {
      expect((await fetch(`${node.url}/ready`)).status).toBe(200);
      await redis.stop();
      const down = await eventually(async () => {
        const res = await fetch(`${node.url}/ready`);
        return res.status === 503 ? res.json() : null;
      });
      expect(down).toEqual({ status: "not_ready", checks: { redis: false, mongo: true } });
      expect((await fetch(`${node.url}/health`)).status).toBe(200);
      await redis.start();
      await eventually(async () => (await fetch(`${node.url}/ready`)).status === 200);
    } finally {
      await node.stop();
      await redis.destroy();
    }
  });

  it("answers /ready 503 and refuses handshakes with UNAVAILABLE (worth a retry) while MongoDB is unreachable", async () => {
    const lostDb = await Database.connect(rig.services.mongoUrl);
    await lostDb.close();
    const node = await rig.startNode({ db: lostDb });
    try {
      const res = await fetch(`${node.url}/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "not_ready", checks: { redis: true, mongo: false } });
      const err = await refusal(node.url, { token: await tokenFor(randomUserId("patient")) });
      expect(err.data?.code).toBe("UNAVAILABLE");
    } finally {
      await node.stop();
    }
  });
});

describe("close", () => {
  it("closes its sockets and HTTP server, is idempotent, and leaves the connections it was given open", async () => {
    const user = randomUserId("close");
    await createTenant(rig.db, user);
    const node = await rig.startNode();
    try {
      const s = await connect(node.url, { token: await tokenFor(user) });
      const reason = new Promise((resolve) => s.socket.once("disconnect", resolve));
      await Promise.all([node.server.close(), node.server.close()]);
      await node.server.close();
      // Not "io server disconnect": the client may reconnect, to another node.
      expect(await reason).toBe("transport close");
      await expect(fetch(`${node.url}/health`)).rejects.toThrow();
      expect(await node.pub.ping()).toBe("PONG");
      expect(rig.db.connection.readyState).toBe(1);
      await expect(node.server.listen(0)).rejects.toThrow(/closed/);
    } finally {
      await node.stop();
    }
  });

  it("can be closed without having listened", async () => {
    const pub = createRedis(rig.services.redisUrl);
    const sub = createRedis(rig.services.redisUrl, { autoPipelining: false });
    try {
      const server = createRealtimeServer({
        pub,
        sub,
        db: rig.db,
        jwtSecret: TEST_SECRETS.jwtSecret,
        adapterKey: rig.adapterKey,
      });
      await expect(server.close()).resolves.toBeUndefined();
      await expect(server.close(), "a second close is a no-op").resolves.toBeUndefined();
      expect(server.httpServer.listening).toBe(false);
      await expect(server.listen(0), "a closed server never starts").rejects.toThrow(/closed/);
      // The Redis connections belong to their creator: closing the server left them open.
      expect(await pub.ping()).toBe("PONG");
    } finally {
      await Promise.all([pub.quit(), sub.quit()]);
    }
  });
});
