import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { Database, type ClientDoc } from "@linkojob/db";
import { SOCKET_IO_KEY, clientRoom } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { eventually, tokenFor, type TestServices } from "@linkojob/testing";
import type { NormalizedMessage } from "@linkojob/whatsapp";
import { startTestIngress, storeInbound, type TestIngress } from "../ingress.harness.js";

let t: TestIngress;
let services: TestServices;
let db: Database;
let sub: Redis;
let app: FastifyInstance;
let a: ClientDoc;
let b: ClientDoc;
let convA: string;
let convB: string;
const published: string[] = [];

const message = (wamid: string, text: string, at: Date): NormalizedMessage => ({
  wamid,
  type: "text",
  originalType: "text",
  timestamp: at,
  content: { body: text },
  text,
});

beforeAll(async () => {
  t = await startTestIngress("conversations");
  ({ app, db, services } = t);
  sub = createRedis(services.redisUrl, { autoPipelining: false });
  await sub.psubscribe(`${SOCKET_IO_KEY}#*`);
  sub.on("pmessage", (_p, channel) => published.push(channel));
  const mk = (n: number) =>
    db.clients.create({
      userId: `recruiter-${services.id}-${n}`,
      companyName: `Co ${n}`,
      phoneNumberId: `pn-${services.id}-${n}`,
      wabaId: `waba-${n}`,
      whatsappNumber: `21252200000${n}`,
      status: "active",
    });
  a = (await mk(1)).toObject();
  b = (await mk(2)).toObject();
  // 25 conversations for A (to page through), one for B.
  const base = Date.now() - 3_600_000;
  const ta = db.forTenant(a._id);
  for (let i = 0; i < 25; i++) {
    const id = await ta.conversations.ensure({ candidateKey: `2126000000${String(i).padStart(2, "0")}` });
    const at = new Date(base + i * 1000);
    await storeInbound(db, a._id, id, message(`wamid.a${i}`, `hello ${i}`, at));
    if (i === 24) convA = id.toHexString();
  }
  // 7 messages in A's latest conversation, to page through by cursor.
  const latest = await ta.conversations.ensure({ candidateKey: "212600000024" });
  for (let j = 0; j < 6; j++)
    await storeInbound(db, a._id, latest, message(`wamid.more${j}`, `more ${j}`, new Date(base + 100_000 + j)));
  const tb = db.forTenant(b._id);
  const idB = await tb.conversations.ensure({ candidateKey: "212699999999" });
  await tb.messages.insertInbound(idB, message("wamid.b", "secret of B", new Date()));
  convB = idB.toHexString();
});
afterAll(async () => {
  await sub?.quit();
  await t?.close();
});

const get = async (
  url: string,
  sub: Parameters<typeof tokenFor>[0] | null,
  role: "recruiter" | "service" | "admin" = "recruiter",
) => app.inject({ method: "GET", url, headers: sub ? { authorization: `Bearer ${await tokenFor(sub, role)}` } : {} });

describe("read API authentication and tenant isolation", () => {
  it("requires a valid bearer token", async () => {
    const none = await get("/api/messages/conversations", null);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: { code: "AUTH_ERR_MISSING" } });
    const forged = await app.inject({
      method: "GET",
      url: "/api/messages/conversations",
      headers: { authorization: "Bearer abc.def.ghi" },
    });
    expect(forged.statusCode).toBe(401);
    const expired = await app.inject({
      method: "GET",
      url: "/api/messages/conversations",
      headers: { authorization: `Bearer ${await tokenFor(a.userId, "recruiter", -10)}` },
    });
    expect(expired.statusCode).toBe(401);
    expect(expired.json()).toMatchObject({ error: { code: "AUTH_ERR_EXPIRED" } });
  });

  it("lets a recruiter see only its own client's conversations", async () => {
    const own = await get("/api/messages/conversations?limit=100", a.userId);
    expect(own.statusCode).toBe(200);
    expect(own.json().total).toBe(25);
    expect(own.json().conversations.every((c: { clientId: string }) => c.clientId === a._id.toString())).toBe(true);
    expect((await get(`/api/messages/conversations?clientId=${b._id.toHexString()}`, a.userId)).statusCode).toBe(403);
    expect((await get(`/api/messages/conversation/${convB}`, a.userId)).statusCode).toBe(404);
    expect(
      (await get(`/api/messages/conversation/${convB}?clientId=${b._id.toHexString()}`, a.userId)).statusCode,
    ).toBe(403);
    const patch = await app.inject({
      method: "PATCH",
      url: `/api/messages/conversation/${convB}/read`,
      headers: { authorization: `Bearer ${await tokenFor(a.userId)}` },
    });
    expect(patch.statusCode).toBe(404);
    const bOwn = await get("/api/messages/conversations", b.userId);
    expect(bOwn.json().total).toBe(1);
    expect(JSON.stringify(bOwn.json())).not.toContain("hello");
  });

  it("lets the platform backend name any client, and requires it to", async () => {
    expect((await get("/api/messages/conversations", "platform", "service")).statusCode).toBe(400);
    const res = await get(`/api/messages/conversations?clientId=${b._id.toHexString()}`, "platform", "service");
    expect(res.statusCode).toBe(200);
    expect(res.json().conversations[0].id).toBe(convB);
    const one = await get(`/api/messages/conversation/${convB}`, "platform", "service");
    expect(one.statusCode).toBe(200);
    expect(one.json().messages[0].text).toBe("secret of B");
    expect((await get(`/api/messages/conversations?clientId=${"0".repeat(24)}`, "ops", "admin")).statusCode).toBe(404);
  });

  it("answers 400, never a query, for ids that are not ObjectIds and smuggled operators", async () => {
    for (const url of [
      "/api/messages/conversation/not-an-id",
      `/api/messages/conversation/${convA}x`,
      "/api/messages/conversations?clientId[$ne]=x",
      `/api/messages/conversations?clientId=${a._id.toHexString()}&clientId=${b._id.toHexString()}`,
      "/api/messages/conversations?clientId=%7B%22%24gt%22%3A%22%22%7D",
      "/api/messages/conversations?limit=1000",
      "/api/messages/conversations?page=0",
      `/api/messages/conversation/${convA}?cursor=bm90LWEtY3Vyc29y`,
    ]) {
      const res = await get(url, "platform", "service");
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.message, url).toBeTruthy();
    }
  });
});

describe("read API paging and mark-as-read", () => {
  it("pages conversations newest activity first", async () => {
    const p1 = (await get("/api/messages/conversations?limit=10&page=1", a.userId)).json();
    const p3 = (await get("/api/messages/conversations?limit=10&page=3", a.userId)).json();
    expect(p1.conversations).toHaveLength(10);
    expect(p1.hasMore).toBe(true);
    expect(p3.conversations).toHaveLength(5);
    expect(p3.hasMore).toBe(false);
    const times = p1.conversations.map((c: { lastMessageAt: string }) => Date.parse(c.lastMessageAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(p1.conversations[0].id).toBe(convA);
  });

  it("pages a conversation's messages newest first with a cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { messages: Array<{ text: string }>; nextCursor: string | null } = (
        await get(`/api/messages/conversation/${convA}?limit=3${cursor ? `&cursor=${cursor}` : ""}`, a.userId)
      ).json();
      seen.push(...res.messages.map((m) => m.text));
      cursor = res.nextCursor;
    } while (cursor);
    expect(seen).toEqual(["more 5", "more 4", "more 3", "more 2", "more 1", "more 0", "hello 24"]);
  });

  it("marks a conversation read and tells the dashboards", async () => {
    const before = (await get(`/api/messages/conversation/${convA}`, a.userId)).json();
    expect(before.conversation.unreadCount).toBe(7);
    const res = await app.inject({
      method: "PATCH",
      url: `/api/messages/conversation/${convA}/read`,
      headers: { authorization: `Bearer ${await tokenFor(a.userId)}`, "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    expect((await get(`/api/messages/conversation/${convA}`, a.userId)).json().conversation.unreadCount).toBe(0);
    await eventually(() => published.some((ch) => ch.includes(clientRoom(a._id.toString()))));
  });
});
