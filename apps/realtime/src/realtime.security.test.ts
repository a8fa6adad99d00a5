/**
 * Security review, realtime area: each finding reproduced as the attack, which now fails.
 * Real realtime node on a real port, real socket.io clients over websocket, real Redis and
 * MongoDB-protocol server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signClaims } from "@linkojob/auth";
import { Database } from "@linkojob/db";
import { CommandCounter, TEST_SECRETS, eventually, testServices, tokenFor } from "@linkojob/testing";
import { socketRefusalSchema } from "@linkojob/events";
import { SOCKET_EVENTS, type RefreshAck } from "./protocol.js";
import { loadRealtimeEnv } from "./env.js";
import {
  closeAllSockets,
  connect,
  createTenant,
  randomUserId,
  refusal,
  startNode,
  type RunningNode,
  type TestSocket,
} from "./socket-clients.harness.js";

const services = testServices("realtimesecurity");
const adapterKey = `${services.prefix}:socket.io`;
const BUDGET = { events: 40, windowSeconds: 60 };

let db: Database;
let node: RunningNode;
let audienceNode: RunningNode;
let commands: CommandCounter;

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  commands = new CommandCounter(db.connection);
  node = await startNode({
    redisUrl: services.redisUrl,
    db,
    jwtSecret: TEST_SECRETS.jwtSecret,
    adapterKey,
    socketEventBudget: BUDGET,
    // Every test socket comes from 127.0.0.1, and the floods below would spend that address's budget
    // for the whole file: the address limits are proven on a node of their own.
    connectionGuard: { eventsPerAddress: 10_000_000, handshakesPerAddress: 10_000_000 },
  });
  audienceNode = await startNode({
    redisUrl: services.redisUrl,
    db,
    jwtSecret: TEST_SECRETS.jwtSecret,
    adapterKey: `${adapterKey}-aud`,
    jwt: { audience: "linkojob-whatsapp", issuer: "https://linkojob.com" },
  });
});

afterEach(() => closeAllSockets());

afterAll(async () => {
  closeAllSockets();
  commands?.stop();
  await node?.stop();
  await audienceNode?.stop();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

/** A token signed with the platform's secret, with exactly the claims given. */
const rawToken = (claims: Record<string, unknown>) => signClaims(TEST_SECRETS.jwtSecret, claims);
const now = () => Math.floor(Date.now() / 1000);

const refresh = (s: TestSocket, token: unknown) =>
  s.socket.emitWithAck(SOCKET_EVENTS.refresh, { token }) as Promise<RefreshAck>;

describe("finding 2: lenient JWTs on the socket handshake", () => {
  it("refuses a token without exp (it used to follow the tenant forever)", async () => {
    const user = randomUserId("noexp");
    await createTenant(db, user);
    const err = await refusal(node.url, { token: await rawToken({ sub: user, role: "recruiter", iat: now() }) });
    expect(err.data?.code).toBe("AUTH_ERR_INVALID");
  });

  it("refuses a token without role (it used to become a recruiter)", async () => {
    const user = randomUserId("norole");
    await createTenant(db, user);
    const err = await refusal(node.url, { token: await rawToken({ sub: user, iat: now(), exp: now() + 3600 }) });
    expect(err.data?.code).toBe("AUTH_ERR_INVALID");
  });

  it("refuses another audience's token when JWT_AUDIENCE / JWT_ISSUER are set, and accepts ours", async () => {
    const user = randomUserId("aud");
    await createTenant(db, user);
    const base = { sub: user, role: "recruiter", iat: now(), exp: now() + 3600 };
    const foreign = await rawToken({ ...base, aud: "linkojob-billing", iss: "https://linkojob.com" });
    expect((await refusal(audienceNode.url, { token: foreign })).data?.code).toBe("AUTH_ERR_INVALID");
    const noIssuer = await rawToken({ ...base, aud: "linkojob-whatsapp" });
    expect((await refusal(audienceNode.url, { token: noIssuer })).data?.code).toBe("AUTH_ERR_INVALID");
    const ours = await rawToken({ ...base, aud: "linkojob-whatsapp", iss: "https://linkojob.com" });
    const s = await connect(audienceNode.url, { token: ours });
    expect(s.socket.connected).toBe(true);
  });

  it("refuses an admin token older than the admin age cap even though its exp is far away", async () => {
    const clientId = await createTenant(db, randomUserId("tenant"));
    const old = await rawToken({ sub: "ops-1", role: "admin", iat: now() - 13 * 3600, exp: now() + 30 * 86_400 });
    expect((await refusal(node.url, { token: old, clientId })).data?.code).toBe("AUTH_ERR_EXPIRED");
    const fresh = await tokenFor("ops-1", "admin");
    expect((await connect(node.url, { token: fresh, clientId })).socket.connected).toBe(true);
  });
});

describe("token age caps end sockets", () => {
  it("an admin token near its age cap: the session says it ends at iat + cap (not its far exp), and the socket is then disconnected", async () => {
    const clientId = await createTenant(db, randomUserId("tenant"));
    const cap = 12 * 3600;
    const iat = now() - cap + 3;
    const token = await rawToken({ sub: "ops-1", role: "admin", iat, exp: now() + 30 * 86_400 });
    const s = await connect(node.url, { token, clientId });
    const session = (await eventually(() => s.payloads(SOCKET_EVENTS.session)[0])) as { expiresAt: number };
    expect(session.expiresAt).toBe(iat + cap);
    const expired = (await eventually(() => s.payloads(SOCKET_EVENTS.expired)[0], 15_000)) as { code: string };
    expect(expired.code).toBe("AUTH_ERR_EXPIRED");
    await eventually(() => !s.socket.connected);
  });

  it("a service token is capped too: one older than 24 h is refused whatever its exp", async () => {
    const clientId = await createTenant(db, randomUserId("tenant"));
    const old = await rawToken({ sub: "backend", role: "service", iat: now() - 25 * 3600, exp: now() + 30 * 86_400 });
    expect((await refusal(node.url, { token: old, clientId })).data?.code).toBe("AUTH_ERR_EXPIRED");
  });
});

describe("budgets that a reconnect does not reset", () => {
  it("a user who reconnects keeps the events spent: the budget is per user in Redis, not per socket", async () => {
    const user = randomUserId("reconnecter");
    await createTenant(db, user);
    const first = await connect(node.url, { token: await tokenFor(user) });
    for (let i = 0; i < BUDGET.events - 10; i++) first.socket.emit("no-such-event", { i });
    // The server has counted them once it answers an event sent after them.
    const ack = await first.socket.timeout(10_000).emitWithAck(SOCKET_EVENTS.refresh, { token: await tokenFor(user) });
    expect(ack).toBeTruthy();
    expect(first.socket.connected).toBe(true);
    first.socket.disconnect();

    const second = await connect(node.url, { token: await tokenFor(user) });
    for (let i = 0; i < 20; i++) second.socket.emit("no-such-event", { i });
    const error = socketRefusalSchema.parse(await eventually(() => second.payloads(SOCKET_EVENTS.error)[0]));
    expect(error.code).toBe("RATE_LIMITED");
    await eventually(() => !second.socket.connected);
  });

  it("handshakes are limited per user and per address in Redis, and a user's open sockets are capped", async () => {
    const guarded = await startNode({
      redisUrl: services.redisUrl,
      db,
      jwtSecret: TEST_SECRETS.jwtSecret,
      adapterKey: `${adapterKey}-guard`,
      connectionGuard: { handshakes: 3, socketsPerSubject: 2, handshakesPerAddress: 6 },
    });
    try {
      const user = randomUserId("many-tabs");
      await createTenant(db, user);
      const token = await tokenFor(user);
      await connect(guarded.url, { token });
      await connect(guarded.url, { token });
      expect((await refusal(guarded.url, { token })).data?.code).toBe("TOO_MANY_SOCKETS");
      expect((await refusal(guarded.url, { token })).data?.code).toBe("RATE_LIMITED");

      const other = randomUserId("same-office");
      await createTenant(db, other);
      const otherToken = await tokenFor(other);
      await connect(guarded.url, { token: otherToken });
      await connect(guarded.url, { token: otherToken });
      // The address has made 6 handshakes: a 7th is refused before its token is read.
      expect((await refusal(guarded.url, { token: "not-even-a-token" })).data?.code).toBe("RATE_LIMITED");
    } finally {
      closeAllSockets();
      await guarded.stop();
    }
  });
});

describe("finding 4: socket floods", () => {
  it("disconnects a socket that floods auth:refresh, with a RATE_LIMITED socket:error, after at most two database reads", async () => {
    const user = randomUserId("flooder");
    await createTenant(db, user);
    const s = await connect(node.url, { token: await tokenFor(user) });
    const ended = new Promise<string>((resolve) => s.socket.once("disconnect", resolve));
    const token = await tokenFor(user);
    commands.reset();

    // The review's attack: 20,000 refreshes sent at once.
    for (let i = 0; i < 20_000; i++) s.socket.emit(SOCKET_EVENTS.refresh, { token });

    expect(await ended).toBe("io server disconnect");
    expect(s.payloads(SOCKET_EVENTS.error)).toEqual([
      { code: "RATE_LIMITED", message: expect.stringContaining(`${BUDGET.events} events`) },
    ]);
    // Coalesced: one refresh runs, one waits, the rest are replaced while waiting; none runs once
    // the socket is gone. Count once the server has no refresh work left (every allowed event was
    // queued before the disconnect that ended the flood).
    await eventually(() => node.server.refreshesInFlight === 0);
    const reads = (commands.byCommand().find ?? 0) + (commands.byCommand().aggregate ?? 0);
    expect(reads).toBeLessThanOrEqual(2);
  });

  it("counts every event against the budget, known or not", async () => {
    const user = randomUserId("junk");
    await createTenant(db, user);
    const s = await connect(node.url, { token: await tokenFor(user) });
    const ended = new Promise<string>((resolve) => s.socket.once("disconnect", resolve));
    for (let i = 0; i < BUDGET.events + 1; i++) s.socket.emit("no-such-event", { i });
    expect(await ended).toBe("io server disconnect");
    expect(s.payloads(SOCKET_EVENTS.error)).toHaveLength(1);
  });

  it("coalesces a burst of refreshes: one in flight, the latest wins, the replaced ones are answered SUPERSEDED", async () => {
    const user = randomUserId("burst");
    await createTenant(db, user);
    const s = await connect(node.url, { token: await tokenFor(user) });
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((i) => tokenFor(user, "recruiter", `${i}h`)));
    commands.reset();
    const acks = await Promise.all(tokens.map((t) => refresh(s, t)));

    const last = acks.at(-1)!;
    expect(last.ok).toBe(true);
    // The session carries the latest token's expiry.
    const latestExp = JSON.parse(Buffer.from(tokens.at(-1)!.split(".")[1]!, "base64url").toString()).exp as number;
    expect(last.ok && last.session.expiresAt).toBe(latestExp);
    const superseded = acks.filter((a) => !a.ok && a.error.code === "SUPERSEDED");
    expect(superseded.length).toBeGreaterThanOrEqual(1);
    expect(acks.filter((a) => a.ok).length + superseded.length).toBe(5);
    expect(commands.byCommand().find ?? 0).toBeLessThan(5);
    // A socket within its budget stays connected.
    await eventually(() => s.socket.connected);
  });
});

describe("finding 6: deployment secrets", () => {
  const base = {
    REDIS_URL: "redis://redis:6379",
    MONGODB_URI: "mongodb://db/linkojob",
    JWT_AUDIENCE: "linkojob-whatsapp",
    JWT_ISSUER: "https://linkojob.com",
  };
  it("a production realtime server refuses the development JWT secrets, and accepts its own", () => {
    for (const secret of ["dev-jwt-secret-change-me-at-least-32-chars", TEST_SECRETS.jwtSecret]) {
      expect(() => loadRealtimeEnv({ ...base, JWT_SECRET: secret, NODE_ENV: "production" })).toThrow(
        /JWT_SECRET: is a known development value/,
      );
    }
    const own = "c2a1f7e9d04b8a6e3f5c7b9d1e2f4a6c8b0d2e4f";
    expect(loadRealtimeEnv({ ...base, JWT_SECRET: own, NODE_ENV: "production" }).JWT_SECRET).toBe(own);
    expect(loadRealtimeEnv({ ...base, JWT_SECRET: TEST_SECRETS.jwtSecret }).SOCKET_EVENT_BUDGET).toBe(30);
  });

  it("a production realtime server requires JWT_AUDIENCE and JWT_ISSUER", () => {
    const own = "c2a1f7e9d04b8a6e3f5c7b9d1e2f4a6c8b0d2e4f";
    const { JWT_AUDIENCE: _aud, ...noAudience } = base;
    expect(() => loadRealtimeEnv({ ...noAudience, JWT_SECRET: own, NODE_ENV: "production" })).toThrow(
      /JWT_AUDIENCE: is required when NODE_ENV=production/,
    );
  });
});
