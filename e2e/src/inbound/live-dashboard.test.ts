import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { io as connect, type Socket } from "socket.io-client";
import { textMessageDelivery, statusObject, delivery, messagesValue } from "@linkojob/meta-simulator";
import { createRedis } from "@linkojob/queues";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
import { TEST_SECRETS, eventually, tokenFor, sentOutboundMessage } from "@linkojob/testing";
import type { ClientDoc } from "@linkojob/db";
import { EVENTS } from "@linkojob/events";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";
import { isEvent, recordEvents } from "../harness/dashboard-events.harness.js";

let t: Trunk;
const nodes: Array<{ server: RealtimeServer; pub: Redis; sub: Redis; url: string }> = [];
const sockets: Socket[] = [];
let a: ClientDoc;
let b: ClientDoc;

beforeAll(async () => {
  t = await startTrunk({ label: "live" });
  a = await t.createClient();
  b = await t.createClient();
  // Two realtime nodes; workers reach both through Redis.
  for (let i = 0; i < 2; i++) {
    const pub = createRedis(t.services.redisUrl);
    const sub = createRedis(t.services.redisUrl, { autoPipelining: false });
    const server = createRealtimeServer({ pub, sub, db: t.db, jwtSecret: TEST_SECRETS.jwtSecret });
    const port = await server.listen(0, "127.0.0.1");
    nodes.push({ server, pub, sub, url: `http://127.0.0.1:${port}` });
  }
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const n of nodes) {
    await n.server.close();
    await Promise.allSettled([n.pub.quit(), n.sub.quit()]);
  }
  await t?.close();
});

async function dashboard(url: string, userId: Parameters<typeof tokenFor>[0]) {
  const socket = connect(url, {
    transports: ["websocket"],
    auth: { token: await tokenFor(userId) },
    reconnection: false,
  });
  sockets.push(socket);
  const received = recordEvents(socket);
  // auth:session arrives once the server has joined the socket to its rooms.
  await new Promise<void>((resolve, reject) => {
    socket.once("auth:session", () => resolve());
    socket.once("connect_error", reject);
  });
  return received;
}

describe("live dashboard: webhook → worker → emitter → realtime nodes → recruiter", () => {
  it("delivers message, conversation and status events to the tenant's dashboards on every node, and to nobody else", async () => {
    const onNode1 = await dashboard(nodes[0]!.url, a.userId);
    const onNode2 = await dashboard(nodes[1]!.url, a.userId);
    const otherTenant = await dashboard(nodes[1]!.url, b.userId);

    const biz = { wabaId: a.wabaId, phoneNumberId: a.phoneNumberId };
    const res = await t.sim.deliver(
      textMessageDelivery(biz, { waId: "212699000001", name: "Omar" }, "Salam, je postule 🙂"),
    );
    expect(res.status).toBe(200);
    await t.drain();
    for (const received of [onNode1, onNode2]) {
      const got = await eventually(() => received.find(isEvent(EVENTS.messageReceived)));
      expect(got.payload.message).toMatchObject({ text: "Salam, je postule 🙂", from: "candidate", type: "text" });
      expect(got.payload.clientId).toBe(a._id.toString());
      const conv = await eventually(() => received.find(isEvent(EVENTS.conversationUpdated)));
      expect(conv.payload.conversation).toMatchObject({ candidateName: "Omar", unreadCount: 1, inWindow: true });
    }

    // A delivery status for an outbound message of A's.
    const convId = (await t.db.conversations.findOne({ clientId: a._id }).lean())!._id;
    const now = new Date();
    await t.db.messages.collection.insertOne(
      sentOutboundMessage({
        clientId: a._id,
        conversationId: convId,
        dedupeKey: "out:live",
        wamid: "wamid.live-1",
        text: "Merci Omar",
        at: now,
      }),
    );
    await t.sim.deliver(
      delivery([
        {
          wabaId: biz.wabaId,
          changes: [
            {
              field: "messages",
              value: messagesValue(biz, { statuses: [statusObject("wamid.live-1", "delivered", "212699000001")] }),
            },
          ],
        },
      ]),
    );
    await t.drain();
    for (const received of [onNode1, onNode2]) {
      const st = await eventually(() => received.find(isEvent(EVENTS.messageStatus)));
      expect(st.payload).toMatchObject({ wamid: "wamid.live-1", status: "delivered" });
    }

    // Tenant B's dashboard got nothing of A's: a marker event to B proves its socket was listening.
    const bConvMarker = await t.sim.deliver(
      textMessageDelivery({ wabaId: b.wabaId, phoneNumberId: b.phoneNumberId }, { waId: "212699000002" }, "pour B"),
    );
    expect(bConvMarker.status).toBe(200);
    await t.drain();
    await eventually(() => otherTenant.find((e) => e.event === EVENTS.messageReceived));
    expect(
      otherTenant.every((e) => JSON.stringify(e.payload).includes(b._id.toString()) || e.event.startsWith("auth:")),
    ).toBe(true);
    expect(JSON.stringify(otherTenant)).not.toContain("Salam");
  });
});
