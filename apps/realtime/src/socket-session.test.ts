import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { EVENTS, sampleConversationUpdated, sampleMessageReceived } from "@linkojob/events";
import { eventually, tokenFor } from "@linkojob/testing";
import { SOCKET_EVENTS, type ExpiredNotice, type RefreshAck } from "./protocol.js";
import {
  connect,
  createTenant,
  randomUserId,
  realtimeRig,
  type RunningNode,
  type TestSocket,
} from "./socket-clients.harness.js";

const rig = realtimeRig("realtimesession");
let node: RunningNode;
/** Every line the server logged, at the most verbose level, to check that no token ever appears. */
const logLines: string[] = [];
const tokensSeen: string[] = [];

beforeAll(async () => {
  const logger = pino({ level: "trace" }, { write: (line: string) => void logLines.push(line) });
  node = await rig.startNode({ logger });
});

/** A token, remembered so that the last test can look for it in the logs. */
async function token(
  sub: string,
  role: "recruiter" | "service" | "admin" = "recruiter",
  expiresIn: string | number = "1h",
) {
  const t = await tokenFor(sub, role, expiresIn);
  tokensSeen.push(t);
  return t;
}

const expOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as { exp: number }).exp;

const refresh = (s: TestSocket, payload: unknown) =>
  s.socket.emitWithAck(SOCKET_EVENTS.refresh, payload) as Promise<RefreshAck>;

/** Resolves when the server has handled every packet the socket sent before (one socket's packets are handled in order). */
const roundTrip = (s: TestSocket) => refresh(s, { token: "round-trip" });

describe("a token that expires while connected", () => {
  it("is told auth:expired, then disconnected by the server at exp", async () => {
    const user = randomUserId("expiring");
    await createTenant(rig.db, user);
    const short = await token(user, "recruiter", "3s");
    const s = await connect(node.url, { token: short });
    const disconnected = new Promise<string>((resolve) => s.socket.once("disconnect", resolve));

    // "io server disconnect": socket.io-client will not reconnect by itself with the expired token.
    expect(await disconnected).toBe("io server disconnect");
    expect(Date.now()).toBeGreaterThanOrEqual(expOf(short) * 1000);
    const expired = s.payloads(SOCKET_EVENTS.expired) as ExpiredNotice[];
    expect(expired).toEqual([{ code: "AUTH_ERR_EXPIRED", expiredAt: expOf(short) }]);
  });

  it("stays connected past the old exp after auth:refresh with a newer token of the same user", async () => {
    const user = randomUserId("refreshing");
    const clientId = await createTenant(rig.db, user);
    const short = await token(user, "recruiter", "4s");
    const s = await connect(node.url, { token: short });

    const ack = await refresh(s, { token: await token(user, "recruiter", "1h") });
    expect(ack.ok).toBe(true);
    const session = (ack as Extract<RefreshAck, { ok: true }>).session;
    expect(session.clientIds).toEqual([clientId]);
    expect(session.expiresAt).toBeGreaterThan(expOf(short));

    // Wait until the old token is past its exp, then let the server handle a packet: a timer still
    // armed for the old exp would have fired first (due timers run before the next I/O).
    await eventually(() => Date.now() > expOf(short) * 1000 + 250, 15_000, 100);
    await roundTrip(s);
    rig.events.toClient(clientId, EVENTS.messageReceived, sampleMessageReceived(clientId, "still here"));
    await eventually(() => s.payloads(EVENTS.messageReceived).length === 1);
    expect(s.socket.connected).toBe(true);
    expect(s.payloads(SOCKET_EVENTS.expired)).toEqual([]);
  });
});

describe("auth:refresh", () => {
  it("refuses a token of another user or role, or no valid token, and keeps the session as it was", async () => {
    const user = randomUserId("keeper");
    const clientId = await createTenant(rig.db, user);
    const s = await connect(node.url, { token: await token(user) });

    const other = await refresh(s, { token: await token(randomUserId("intruder")) });
    expect(other).toEqual({ ok: false, error: { code: "AUTH_ERR_SUBJECT_MISMATCH", message: expect.any(String) } });
    const service = await refresh(s, { token: await token(user, "service") });
    expect(service).toMatchObject({ ok: false, error: { code: "AUTH_ERR_SUBJECT_MISMATCH" } });
    expect(await refresh(s, { token: "garbage" })).toMatchObject({ ok: false, error: { code: "AUTH_ERR_INVALID" } });
    expect(await refresh(s, {})).toMatchObject({ ok: false, error: { code: "AUTH_ERR_MISSING" } });
    const expired = await token(user, "recruiter", Math.floor(Date.now() / 1000) - 5);
    expect(await refresh(s, { token: expired })).toMatchObject({ ok: false, error: { code: "AUTH_ERR_EXPIRED" } });

    rig.events.toClient(clientId, EVENTS.messageReceived, sampleMessageReceived(clientId, "after refusals"));
    await eventually(() => s.payloads(EVENTS.messageReceived).length === 1);
    expect(s.socket.connected).toBe(true);
  });

  it("decides access again: a client given to another user is no longer followed, and the socket ends", async () => {
    const user = randomUserId("seller");
    const clientId = await createTenant(rig.db, user);
    const s = await connect(node.url, { token: await token(user), clientId });
    const disconnected = new Promise<string>((resolve) => s.socket.once("disconnect", resolve));

    await rig.db.clients.updateOne({ _id: clientId }, { $set: { userId: randomUserId("buyer") } });
    const ack = await refresh(s, { token: await token(user) });
    expect(ack).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    expect(await disconnected).toBe("io server disconnect");
  });

  it("follows a client the recruiter gained since connecting", async () => {
    const user = randomUserId("grower");
    const first = await createTenant(rig.db, user);
    const s = await connect(node.url, { token: await token(user) });
    const second = await createTenant(rig.db, user);

    const ack = await refresh(s, { token: await token(user) });
    expect(ack.ok).toBe(true);
    expect([...(ack as Extract<RefreshAck, { ok: true }>).session.clientIds].sort()).toEqual([first, second].sort());
    rig.events.toClient(second, EVENTS.conversationUpdated, sampleConversationUpdated(second));
    await eventually(() => s.payloads(EVENTS.conversationUpdated).length === 1);
    expect(s.payloads(EVENTS.conversationUpdated)).toEqual([sampleConversationUpdated(second)]);
  });
});

describe("logs", () => {
  it("never contain a token", async () => {
    // Exercise the refused paths too: they log the most about the handshake.
    const user = randomUserId("logged");
    await createTenant(rig.db, user);
    const s = await connect(node.url, { token: await token(user) });
    await refresh(s, { token: await token(randomUserId("someone")) });
    await roundTrip(s);
    expect(logLines.length).toBeGreaterThan(0);
    expect(tokensSeen.length).toBeGreaterThan(5);
    for (const t of tokensSeen) {
      const signature = t.split(".")[2]!;
      expect(logLines.filter((line) => line.includes(signature))).toEqual([]);
    }
  });
});
