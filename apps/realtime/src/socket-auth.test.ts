import { beforeAll, describe, expect, it } from "vitest";
import { signJwt, type Role } from "@linkojob/auth";
import { EVENTS, sampleMessageStatus, sessionInfoSchema, socketRefusalSchema } from "@linkojob/events";
import { TEST_SECRETS, eventually, tokenFor } from "@linkojob/testing";
import { SOCKET_EVENTS, type SessionInfo } from "./protocol.js";
import {
  closeAllSockets,
  connect,
  createTenant,
  randomUserId,
  refusal,
  realtimeRig,
  type RunningNode,
} from "./socket-clients.harness.js";

const rig = realtimeRig("realtimeauth");
let node: RunningNode;
let owner: string;
let ownClient: string;
let otherClient: string;

beforeAll(async () => {
  node = await rig.startNode();
  owner = randomUserId("owner");
  ownClient = await createTenant(rig.db, owner);
  otherClient = await createTenant(rig.db, randomUserId("other"));
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("tokens at connect", () => {
  it.each([
    ["no token", {}, "AUTH_ERR_MISSING"],
    ["an empty token", { token: "" }, "AUTH_ERR_MISSING"],
    ["a token that is not a JWT", { token: "not.a.jwt" }, "AUTH_ERR_INVALID"],
    ["a token that is not a string", { token: { $ne: null } }, "AUTH_ERR_INVALID"],
  ])("refuses %s", async (_what, auth, code) => {
    const err = await refusal(node.url, auth);
    expect(err.data?.code).toBe(code);
  });

  it("refuses a token signed with another secret", async () => {
    const token = await signJwt("another-secret-that-is-32-characters-or-more", { sub: owner });
    expect((await refusal(node.url, { token })).data?.code).toBe("AUTH_ERR_INVALID");
  });

  it("refuses an expired token with AUTH_ERR_EXPIRED", async () => {
    const token = await signJwt(TEST_SECRETS.jwtSecret, { sub: owner }, nowSeconds() - 5);
    const err = await refusal(node.url, { token });
    expect(err.data).toEqual({ code: "AUTH_ERR_EXPIRED", message: "token expired" });
    expect(socketRefusalSchema.safeParse(err.data).success).toBe(true);
  });

  it("refuses a role the platform does not know", async () => {
    const token = await signJwt(TEST_SECRETS.jwtSecret, { sub: owner, role: "root" as Role });
    expect((await refusal(node.url, { token })).data?.code).toBe("AUTH_ERR_INVALID");
  });

  it("accepts a valid recruiter token and says which clients the socket follows", async () => {
    const s = await connect(node.url, { token: await tokenFor(owner, "recruiter", "1h") });
    const session = (await eventually(() => s.payloads(SOCKET_EVENTS.session)[0])) as SessionInfo;
    // Exactly the contract's keys: a field added by mistake fails the strict schema.
    expect(sessionInfoSchema.safeParse(session).error?.issues ?? []).toEqual([]);
    expect(session).toMatchObject({ userId: owner, role: "recruiter", clientIds: [ownClient] });
    expect(session.expiresAt).toBeGreaterThan(nowSeconds());
  });
});

describe("which client a socket may follow", () => {
  it("refuses a recruiter naming another tenant's client, or one that does not exist, alike", async () => {
    const token = await tokenFor(owner);
    expect((await refusal(node.url, { token, clientId: otherClient })).data?.code).toBe("FORBIDDEN");
    expect((await refusal(node.url, { token, clientId: "0123456789abcdef01234567" })).data?.code).toBe("FORBIDDEN");
  });

  it.each([["not an id"], [{ $ne: null }], [12]])("refuses clientId %j before any query", async (clientId) => {
    const err = await refusal(node.url, { token: await tokenFor(owner), clientId });
    expect(err.data?.code).toBe("INVALID_CLIENT_ID");
  });

  it.each([["service"], ["admin"]] as const)("requires a %s token to name an existing client", async (role) => {
    const token = await tokenFor("platform-backend", role);
    expect((await refusal(node.url, { token })).data?.code).toBe("CLIENT_ID_REQUIRED");
    expect((await refusal(node.url, { token, clientId: "0123456789abcdef01234567" })).data?.code).toBe(
      "CLIENT_NOT_FOUND",
    );
  });

  it.each([["service"], ["admin"]] as const)(
    "lets a %s token follow the one client it names, and only that one",
    async (role) => {
      const s = await connect(node.url, {
        token: await tokenFor("platform-backend", role),
        clientId: otherClient.toUpperCase(),
      });
      const session = (await eventually(() => s.payloads(SOCKET_EVENTS.session)[0])) as SessionInfo;
      expect(session.clientIds).toEqual([otherClient]);

      rig.events.toClient(ownClient, EVENTS.messageStatus, sampleMessageStatus(ownClient, "own"));
      rig.events.toClient(otherClient, EVENTS.messageStatus, sampleMessageStatus(otherClient, "other"));
      await eventually(() => s.payloads(EVENTS.messageStatus).length > 0);
      // Both were published in order on one connection: had the first reached this socket, it would be first.
      expect(s.payloads(EVENTS.messageStatus)).toEqual([sampleMessageStatus(otherClient, "other")]);
    },
  );

  it("lets a recruiter without clients connect, following nothing", async () => {
    const s = await connect(node.url, { token: await tokenFor(randomUserId("newcomer")) });
    const session = (await eventually(() => s.payloads(SOCKET_EVENTS.session)[0])) as SessionInfo;
    expect(session.clientIds).toEqual([]);
  });
});

describe("transport and origin", () => {
  it("accepts websocket only, so that no sticky sessions are needed", async () => {
    const err = await refusal(node.url, { token: await tokenFor(owner) }, { transports: ["polling"] });
    expect(err.message).toMatch(/poll/);
  });

  it("refuses browsers from origins outside CORS_ORIGIN", async () => {
    const strict = await rig.startNode({ corsOrigin: ["https://dashboard.example"] });
    try {
      const token = await tokenFor(owner);
      await connect(strict.url, { token }, { extraHeaders: { origin: "https://dashboard.example" } });
      await connect(strict.url, { token }); // not a browser: no Origin header
      const err = await refusal(strict.url, { token }, { extraHeaders: { origin: "https://evil.example" } });
      expect(err.message).toMatch(/websocket error/);
    } finally {
      closeAllSockets();
      await strict.stop();
    }
  });
});
