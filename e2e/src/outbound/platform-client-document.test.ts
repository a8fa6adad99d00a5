/**
 * A `clients` document written exactly as the platform's collection shows it (by the platform, or
 * migrated from the proof of concept): `userId` an ObjectId, `accessToken` the proof of concept's
 * `ivHex:tagHex:ciphertextHex` (the proof of concept's own `encrypt`), `tokenExpiry`, no field of ours. Its
 * recruiter (JWT sub = the ObjectId's hex) uses it end to end on the real parts.
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { Types } from "mongoose";
import type { ClientDoc } from "@linkojob/db";
import { EVENTS, type ConversationPayload } from "@linkojob/events";
import { createRedis } from "@linkojob/queues";
import { TEST_SECRETS, eventually, tokenFor } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { reencryptStoredTokens } from "@linkojob/ingress";
import { createRealtimeServer, type RealtimeServer } from "@linkojob/realtime";
import { closeAllSockets, connect, refusal } from "@linkojob/realtime/testing";
import { sweepTokenExpiry } from "@linkojob/outbound";
import { clientAccessToken } from "@linkojob/outbound-worker";
import { startOutbound, type OutboundRig, type SendAnswer } from "../harness/outbound.harness.js";

/** The proof of concept's `encrypt`, as written there (AES-256-GCM, 16-byte IV, no AAD, hex parts). */
function pocEncrypt(text: string, hexKey: string): string {
  const key = Buffer.from(hexKey, "hex");
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  let encrypted = cipher.update(text, "utf8", "hex");
  encrypted += cipher.final("hex");
  const authTag = cipher.getAuthTag();
  return iv.toString("hex") + ":" + authTag.toString("hex") + ":" + encrypted;
}

let rig: OutboundRig;
let realtime: RealtimeServer;
let realtimeUrl: string;
const conns: Array<{ quit(): Promise<unknown> }> = [];

const userId = new Types.ObjectId();
const clientId = new Types.ObjectId();
const phoneNumberId = `105${Date.now() % 10_000_000_000}`;
const token = `EAAG-poc-token-${randomBytes(6).toString("hex")}`;
// Beyond the 7-day warning window of the inbound worker's own sweep (its upkeep runs one at start):
// the sweeps below, at chosen times, are the only ones to act on it.
const tokenExpiry = new Date(Date.now() + 30 * 86_400_000);
const candidate = "212611223344";
let jwt: string;

const raw = () => rig.trunk.db.connection.db!.collection("clients");
const api = async <T = unknown>(method: "GET" | "POST", path: string, bearer: string, body?: unknown) => {
  const res = await request(`${rig.trunk.ingressUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
};
const tokensAtSim = () => rig.trunk.sim.state.requestsTo(new RegExp(`/${phoneNumberId}/messages$`)).map((r) => r.token);

beforeAll(async () => {
  rig = await startOutbound("platformclient");
  const now = new Date();
  // Exactly the platform's fields and types, through the raw driver (no mongoose defaults or casts).
  await raw().insertOne({
    _id: clientId,
    userId,
    companyName: "Acme Corp",
    email: "rh@acme.example",
    phoneNumberId,
    whatsappNumber: "+212600111222",
    accessToken: pocEncrypt(token, TEST_SECRETS.tokenKey),
    tokenExpiry,
    status: "active",
    connectedAt: now,
    disconnectedAt: null,
    createdAt: now,
    updatedAt: now,
  });
  jwt = await tokenFor(userId.toHexString(), "recruiter");
  const pub = createRedis(rig.trunk.services.redisUrl);
  const sub = createRedis(rig.trunk.services.redisUrl, { autoPipelining: false });
  conns.push(pub, sub);
  realtime = createRealtimeServer({ pub, sub, db: rig.trunk.db, jwtSecret: TEST_SECRETS.jwtSecret });
  realtimeUrl = `http://127.0.0.1:${await realtime.listen(0, "127.0.0.1")}`;
});
afterAll(async () => {
  closeAllSockets();
  await realtime?.close();
  await Promise.allSettled(conns.map((c) => c.quit()));
  await rig?.close();
});

describe("a client document written as the platform writes it", () => {
  it("is its recruiter's on the REST API (sub = the ObjectId's hex), and nobody else's", async () => {
    const conversations = await api("GET", "/api/messages/conversations", jwt);
    expect(conversations.status).toBe(200);
    expect(conversations.body).toMatchObject({ total: 0 });
    expect((await api("GET", `/api/messages/conversations?clientId=${clientId.toHexString()}`, jwt)).status).toBe(200);
    const costs = await api("GET", "/api/messages/costs", jwt);
    expect(costs.status).toBe(200);
    expect((await api("GET", "/api/templates", jwt)).status).toBe(200);

    // Another recruiter: not theirs.
    const other = await tokenFor(new Types.ObjectId().toHexString(), "recruiter");
    expect((await api("GET", `/api/messages/conversations?clientId=${clientId.toHexString()}`, other)).status).toBe(
      403,
    );
    expect(
      (
        await api("POST", "/api/messages/send", other, {
          clientId: clientId.toHexString(),
          candidatePhone: candidate,
          message: "x",
        })
      ).status,
    ).toBe(403);
    // The upgraded form is not left behind by reads.
    expect(typeof (await raw().findOne({ _id: clientId }))!.accessToken).toBe("string");
  });

  it("its socket joins the tenant's room and receives the tenant's events; another recruiter's cannot name it", async () => {
    const s = await connect(realtimeUrl, { token: jwt });
    const session = await eventually(
      () => (s.payloads("auth:session")[0] as { clientIds: string[]; userId: string } | undefined) ?? null,
    );
    expect(session).toMatchObject({ userId: userId.toHexString(), clientIds: [clientId.toHexString()] });
    const named = await connect(realtimeUrl, { token: jwt, clientId: clientId.toHexString() });

    const other = await tokenFor(new Types.ObjectId().toHexString(), "recruiter");
    expect((await refusal(realtimeUrl, { token: other, clientId: clientId.toHexString() })).data?.code).toBe(
      "FORBIDDEN",
    );

    // The candidate writes to the number: routed by phoneNumberId, stored, announced to the room.
    await rig.candidateWrites(
      { phoneNumberId, wabaId: "waba-unknown-to-the-platform" } as ClientDoc,
      candidate,
      "Bonjour, je suis intéressée",
      30_000,
    );
    for (const socket of [s, named]) {
      const received = await eventually(
        () => (socket.payloads(EVENTS.messageReceived)[0] as { clientId: string } | undefined) ?? null,
      );
      expect(received.clientId).toBe(clientId.toHexString());
    }
    // The conversation is its recruiter's to read and mark read.
    const list = await api<{ total: number; conversations: ConversationPayload[] }>(
      "GET",
      "/api/messages/conversations",
      jwt,
    );
    expect(list.body.total).toBe(1);
    const conversationId = list.body.conversations[0]!.id;
    const one = await api("GET", `/api/messages/conversation/${conversationId}`, jwt);
    expect(one.status).toBe(200);
    expect(JSON.stringify(one.body)).toContain("je suis intéressée");
    expect((await api("GET", `/api/messages/conversation/${conversationId}`, other)).status).toBe(404);
  });

  it("its proof-of-concept token opens on the token-access path, and a send reaches Meta with it", async () => {
    const doc = (await rig.trunk.db.clients.findById(clientId).lean<ClientDoc>())!;
    expect(clientAccessToken(rig.vault, doc)).toBe(token);
    // Another client's id does not matter for an unbound legacy token, but a changed one fails.
    const tampered = { ...doc, accessToken: (doc.accessToken as string).replace(/.$/, (c) => (c === "0" ? "1" : "0")) };
    expect(() => clientAccessToken(rig.vault, tampered)).toThrow(/failed authentication/);

    const res = await api<SendAnswer>("POST", "/api/messages/send", jwt, {
      clientId: clientId.toHexString(),
      candidatePhone: candidate,
      message: "Merci, quand êtes-vous disponible ?",
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ kind: "text" });
    const m = await rig.until({ _id: clientId } as ClientDoc, res.body.messageId, ["sent", "delivered", "read"]);
    expect(m.kind).toBe("text");
    expect(tokensAtSim()).toEqual([token]);
  });

  it("cli:reencrypt-tokens upgrades the token to the vault's form bound to the client; sends go on with it", async () => {
    const report = await reencryptStoredTokens(rig.trunk.db, rig.vault);
    expect(report).toMatchObject({ reencrypted: 1, upgradedLegacy: 1, failed: [] });
    const stored = (await raw().findOne({ _id: clientId }))!;
    expect(Object.keys(stored.accessToken).sort()).toEqual(["data", "iv", "keyId", "tag"]);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(
      new TokenVault([TEST_SECRETS.tokenKey], { acceptUnbound: false }).decrypt(
        stored.accessToken,
        clientId.toHexString(),
      ),
    ).toBe(token);
    // Everything else of the platform's document is as it was.
    expect(stored.userId).toBeInstanceOf(Types.ObjectId);
    expect(stored).toMatchObject({ email: "rh@acme.example", whatsappNumber: "+212600111222", tokenExpiry });
    // Run again: nothing to do.
    expect(await reencryptStoredTokens(rig.trunk.db, rig.vault)).toMatchObject({
      reencrypted: 0,
      upgradedLegacy: 0,
      failed: [],
    });

    const res = await api<SendAnswer>("POST", "/api/messages/send", jwt, {
      clientId: clientId.toHexString(),
      candidatePhone: candidate,
      message: "Second message",
    });
    expect(res.status).toBe(202);
    await rig.until({ _id: clientId } as ClientDoc, res.body.messageId, ["sent", "delivered", "read"]);
    expect(tokensAtSim()).toEqual([token, token]);
  });

  it("the expiry sweep reads tokenExpiry: a warning before it, reauth_required once it has passed", async () => {
    const threeDaysBefore = new Date(tokenExpiry.getTime() - 3 * 86_400_000);
    expect(await sweepTokenExpiry(rig.trunk.db, { now: new Date() })).toEqual({ expired: [], warnings: [] });
    const before = await sweepTokenExpiry(rig.trunk.db, { now: threeDaysBefore });
    expect(before.expired).toEqual([]);
    expect(before.warnings).toEqual([
      { clientId: clientId.toHexString(), userId: userId.toHexString(), phoneNumberId, tokenExpiresAt: tokenExpiry },
    ]);
    // Warned once.
    expect((await sweepTokenExpiry(rig.trunk.db, { now: threeDaysBefore })).warnings).toEqual([]);

    const after = await sweepTokenExpiry(rig.trunk.db, { now: new Date(tokenExpiry.getTime() + 1_000) });
    expect(after.expired).toHaveLength(1);
    expect(after.expired[0]).toMatchObject({
      clientId: clientId.toHexString(),
      userId: userId.toHexString(),
      status: "reauth_required",
      reason: "TOKEN_EXPIRED",
    });
    expect((await raw().findOne({ _id: clientId }))!.status).toBe("reauth_required");
  });
});
