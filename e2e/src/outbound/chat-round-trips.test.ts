import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { Database } from "@linkojob/db";
import { DashboardEvents } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { eventually, tokenFor, testIngressConfig } from "@linkojob/testing";
import { CommandCounter } from "@linkojob/testing/services";
import { buildApp, ReadReceipts } from "@linkojob/ingress";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

/**
 * MongoDB requests of the chat features on the ingress (an app on a counted connection of its own),
 * against their baselines measured in the same run: opening a conversation (PATCH …/read) with and
 * without a new candidate message to mark read at Meta, the typing route, and a text reply with and
 * without `replyTo`. Figures from the driver's command monitoring, independent of the machine.
 */
let rig: OutboundRig;
let apiDb: Database;
let app: Awaited<ReturnType<typeof buildApp>>;
const conns: Redis[] = [];

beforeAll(async () => {
  rig = await startOutbound("outchatcount");
  apiDb = await Database.connect(rig.trunk.services.mongoUrl, { monitorCommands: true });
  const r = (o: Parameters<typeof createRedis>[1] = {}) => {
    const c = createRedis(rig.trunk.services.redisUrl, o);
    conns.push(c);
    return c;
  };
  app = await buildApp({
    config: testIngressConfig(rig.trunk.services.prefix),
    redis: r({ failFast: true }),
    db: apiDb,
    events: new DashboardEvents(r()),
  });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await rig?.close();
  await apiDb?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
});

async function counted(run: () => Promise<{ statusCode: number; body: string }>, expected: number) {
  const counter = new CommandCounter(apiDb.connection);
  const res = await run();
  counter.stop();
  expect(res.statusCode, res.body).toBe(expected);
  return { total: counter.total, byCommand: counter.byCommand(), body: res.body };
}

async function countedCall<T>(run: () => Promise<T>) {
  const counter = new CommandCounter(apiDb.connection);
  const result = await run();
  counter.stop();
  return { result, total: counter.total };
}

describe("MongoDB requests of the chat features (ingress)", () => {
  it("read receipts cost two requests on top of marking read; replyTo two on top of a send; typing two beyond its tenant check, none when rate-limited", async () => {
    const c = await rig.client();
    const jwt = await tokenFor(c.userId, "recruiter");
    const phone = "212611223344";
    await rig.candidateWrites(c, phone, "Bonjour", 60_000);
    const conv = (await rig.trunk.db.conversations.findOne({ clientId: c._id, candidatePhone: phone }).lean())!;
    const inbound = (await rig.trunk.db.messages.findOne({ conversationId: conv._id, direction: "inbound" }).lean())!;
    const auth = { authorization: `Bearer ${jwt}` };
    const read = () =>
      app.inject({
        method: "PATCH",
        url: `/api/messages/conversation/${conv._id.toHexString()}/read?clientId=${c._id.toHexString()}`,
        headers: auth,
      });
    const send = (payload: Record<string, unknown>) =>
      app.inject({
        method: "POST",
        url: "/api/messages/send",
        headers: auth,
        payload: { clientId: c._id.toHexString(), candidatePhone: phone, ...payload },
      });

    // Warm the send caches (client and templates are read once per process).
    const warmUps: string[] = [];
    await eventually(async () => {
      const probe = await counted(() => send({ message: "warm-up" }), 202);
      warmUps.push((JSON.parse(probe.body) as { messageId: string }).messageId);
      return probe.total <= 3;
    }, 10_000);
    // The worker's writes for those sends (message, conversation, statuses) are over before anything
    // is counted: FerretDB v1 loses one of two concurrent updates of a document, and a lost readUpTo
    // would make the first open recount the unread messages (an update MongoDB would not need).
    for (const id of warmUps) await rig.until(c, id, ["read"]);
    await rig.trunk.drain();

    const firstOpen = await counted(read, 200); // marks the inbound message read at Meta (a job)
    const againOpen = await counted(read, 200); // already marked: no job
    const plain = await counted(() => send({ message: "Merci" }), 202);
    const reply = await counted(() => send({ message: "Merci pour votre message", replyTo: inbound.wamid }), 202);
    const typing = await counted(
      () =>
        app.inject({
          method: "POST",
          url: `/api/messages/conversation/${conv._id.toHexString()}/typing?clientId=${c._id.toHexString()}`,
          headers: auth,
        }),
      202,
    );
    const typingAgain = await counted(
      () =>
        app.inject({
          method: "POST",
          url: `/api/messages/conversation/${conv._id.toHexString()}/typing?clientId=${c._id.toHexString()}`,
          headers: auth,
        }),
      202,
    );

    // The receipts' own part, counted alone on the same connection: a new message to mark, then again.
    const receipts = new ReadReceipts(apiDb, conns[0]!, rig.trunk.services.prefix);
    await rig.candidateWrites(c, phone, "Vous avez reçu mon CV ?");
    const receiptNew = await countedCall(() => receipts.markRead(c._id, conv._id));
    const receiptAgain = await countedCall(() => receipts.markRead(c._id, conv._id));
    await receipts.close();
    expect(receiptNew.result.queued).toBe(true);
    expect(receiptAgain.result).toEqual({ queued: false, reason: "already_read" });

    const figures = { firstOpen, againOpen, receiptNew, receiptAgain, plain, reply, typing, typingAgain };
    console.log(
      `[chat round trips] ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, v.total])))}`,
    );
    // The receipt's part of an open: the latest candidate message (find) and the conditional update,
    // the same whether it queues a receipt or finds it already sent; the route without it: 2 fewer.
    expect(receiptNew.total).toBe(2);
    expect(receiptAgain.total).toBe(2);
    expect(firstOpen.total, JSON.stringify(figures)).toBe(againOpen.total);
    expect(reply.total - plain.total, JSON.stringify(figures)).toBe(2);
    expect(plain.total, JSON.stringify(plain.byCommand)).toBeLessThanOrEqual(3);
    // Tenant check (one read of the conversation) + the latest candidate message + the update; a
    // rate-limited second call stops at Redis.
    expect(typingAgain.total).toBeLessThan(typing.total);
    expect(typing.total - typingAgain.total, JSON.stringify(figures)).toBe(2);
  }, 60_000);
});
