import { spawn } from "node:child_process";
import { createCipheriv, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { DashboardEvents } from "@linkojob/events";
import { TEST_SECRETS } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { FlowEndpointRepository } from "@linkojob/db";
import {
  APP_ID,
  rawClient,
  seedBusiness,
  startOnboardingHarness,
  type OnboardingHarness,
} from "../onboarding/onboarding.harness.js";
import { OnboardingError } from "../onboarding/onboarding-error.js";
import { UsageError, connectCommand, type ConnectCommandDeps } from "./connect.command.js";
import { reencryptStoredTokens } from "./reencrypt-tokens.command.js";

const oldKey = randomBytes(32).toString("hex");
const newKey = randomBytes(32).toString("hex");
const oldVault = new TokenVault([oldKey]);
const INGRESS_DIR = fileURLToPath(new URL("../..", import.meta.url));
const TSX = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));

let h: OnboardingHarness;
let redis: Redis;

beforeAll(async () => {
  h = await startOnboardingHarness("cli", { vault: oldVault });
  redis = new Redis(h.services.redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

const deps = (vault: TokenVault, token: string): ConnectCommandDeps => ({
  db: h.db,
  redis,
  events: new DashboardEvents(redis, `${h.services.prefix}-io`),
  graph: h.graph,
  vault,
  app: { appId: APP_ID, appSecret: TEST_SECRETS.appSecret },
  keyPrefix: h.services.prefix,
  readStdin: () => Promise.resolve(`${token}\n`),
  readFile: () => Promise.reject(new Error("no file in this test")),
});

async function connectNew(userId: string, vault = oldVault) {
  const business = await seedBusiness(h);
  const number = business.phoneNumbers[0]!;
  const { accessToken } = (
    await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })
  ).json;
  const args = [
    "--user-id",
    userId,
    "--company-name",
    `Company of ${userId}`,
    "--phone-number-id",
    number.id,
    "--waba-id",
    business.wabaId,
    "--whatsapp-number",
    number.displayPhoneNumber,
  ];
  return {
    business,
    number,
    accessToken,
    args,
    result: await connectCommand(args, deps(vault, accessToken)),
  };
}

/** Runs a CLI entry point as operators do (tsx), in a process of its own. */
function runCli(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ["--conditions=@linkojob/source", script, ...args], {
      cwd: INGRESS_DIR,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe("connect command", () => {
  it("connects like the admin endpoint, with the token read from stdin", async () => {
    const { result, number, accessToken } = await connectNew("cli-user-1");
    expect(result.client).toMatchObject({
      userId: "cli-user-1",
      phoneNumberId: number.id,
      status: "active",
      hasToken: true,
    });
    const stored = (await rawClient(h, { phoneNumberId: number.id }))!;
    expect(oldVault.decrypt(stored.accessToken, stored._id.toHexString())).toBe(accessToken);
  });

  it("stores a 24-hex --user-id in the platform's form (ObjectId) and recognises that owner again", async () => {
    const user = new Types.ObjectId().toHexString();
    const { result, number, args, accessToken } = await connectNew(user);
    expect(result.client.userId).toBe(user);
    const stored = (await h.db.connection.db!.collection("clients").findOne({ phoneNumberId: number.id }))!;
    expect(stored.userId).toBeInstanceOf(Types.ObjectId);
    expect(stored.userId.toHexString()).toBe(user);
    const again = await connectCommand(args, deps(oldVault, accessToken));
    expect(again).toMatchObject({ reconnected: true, client: { id: result.client.id, userId: user } });
  });

  it("applies the same checks: another tenant's number is refused, a missing argument is a usage error", async () => {
    const { args, accessToken } = await connectNew("cli-user-2");
    const taken = await connectCommand(
      args.map((a) => (a === "cli-user-2" ? "cli-user-3" : a)),
      deps(oldVault, accessToken),
    ).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(OnboardingError);
    expect((taken as OnboardingError).code).toBe("NUMBER_TAKEN");
    await expect(connectCommand(["--user-id", "x"], deps(oldVault, accessToken))).rejects.toBeInstanceOf(UsageError);
    await expect(
      connectCommand([...args, "--access-token", accessToken], deps(oldVault, accessToken)),
    ).rejects.toBeInstanceOf(UsageError);
  });

  it("runs as a process: token on stdin, client as JSON on stdout, no token anywhere in the output", async () => {
    const business = await seedBusiness(h);
    const number = business.phoneNumbers[0]!;
    const { accessToken } = (
      await h.control<{ accessToken: string }>("POST", "/_sim/onboarding/tokens", { wabaIds: [business.wabaId] })
    ).json;
    const env = {
      MONGODB_URI: h.services.mongoUrl,
      REDIS_URL: h.services.redisUrl,
      META_APP_ID: APP_ID,
      META_APP_SECRET: TEST_SECRETS.appSecret,
      META_API_VERSION: "v26.0",
      META_GRAPH_URL: h.sim.url,
      TOKEN_ENCRYPTION_KEY: oldKey,
      QUEUE_PREFIX: h.services.prefix,
    };
    const args = [
      "--user-id",
      "cli-proc",
      "--company-name",
      "Proc SARL",
      "--phone-number-id",
      number.id,
      "--waba-id",
      business.wabaId,
      "--whatsapp-number",
      number.displayPhoneNumber,
    ];
    const run = await runCli("src/cli/connect.ts", env, args, `${accessToken}\n`);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      success: true,
      client: { userId: "cli-proc", phoneNumberId: number.id, status: "active" },
    });
    expect(run.stdout + run.stderr).not.toContain(accessToken);

    const again = await runCli(
      "src/cli/connect.ts",
      env,
      args.map((a) => (a === "cli-proc" ? "cli-other" : a)),
      `${accessToken}\n`,
    );
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.code).toBe("NUMBER_TAKEN");

    const badEnv = await runCli("src/cli/connect.ts", { ...env, TOKEN_ENCRYPTION_KEY: "abc" }, args, accessToken);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/TOKEN_ENCRYPTION_KEY.*64 hex characters/);
  });
});

describe("reencrypt-tokens (key rotation)", () => {
  it("moves every token and PIN to the new key; the old key can then be removed", async () => {
    await h.db.clients.deleteMany({});
    const a = await connectNew("rot-1");
    const b = await connectNew("rot-2");
    const rotated = new TokenVault([newKey, oldKey]);
    // After the rotation, new writes use the new key while the old ciphertexts still decrypt.
    const c = await connectNew("rot-3", rotated);
    expect((await rawClient(h, { phoneNumberId: c.number.id }))!.accessToken!.keyId).toBe(rotated.currentKeyId);
    const storedA = (await rawClient(h, { phoneNumberId: a.number.id }))!;
    expect(rotated.decrypt(storedA.accessToken, storedA._id.toHexString())).toBe(a.accessToken);

    const report = await reencryptStoredTokens(h.db, rotated);
    // a and b: token + registration PIN each; c is already current (token + PIN).
    expect(report).toMatchObject({ scanned: 3, reencrypted: 4, alreadyCurrent: 2, failed: [] });

    const onlyNew = new TokenVault([newKey]);
    for (const x of [a, b, c]) {
      const raw = (await rawClient(h, { phoneNumberId: x.number.id }))!;
      expect(raw.accessToken!.keyId).toBe(onlyNew.currentKeyId);
      expect(onlyNew.decrypt(raw.accessToken, raw._id.toHexString())).toBe(x.accessToken);
      expect(onlyNew.decrypt(raw.registrationPin, raw._id.toHexString())).toMatch(/^\d{6}$/);
      expect(JSON.stringify(raw)).not.toContain(x.accessToken);
    }
    expect(await reencryptStoredTokens(h.db, rotated)).toMatchObject({ reencrypted: 0, alreadyCurrent: 6, failed: [] });
  });

  it("moves the numbers' WhatsApp Flows private keys to the new key too", async () => {
    await h.db.clients.deleteMany({});
    const a = await connectNew("rot-flow-1");
    const raw = (await rawClient(h, { phoneNumberId: a.number.id }))!;
    const clientId = raw._id.toHexString();
    const endpoints = new FlowEndpointRepository(h.db.connection);
    const pem = "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n";
    await endpoints.addKey(raw._id, {
      keyId: "k1",
      publicKey: "-----BEGIN PUBLIC KEY-----",
      privateKey: oldVault.encrypt(pem, clientId),
      createdAt: new Date(),
      uploadedAt: new Date(),
    });
    const report = await reencryptStoredTokens(h.db, new TokenVault([newKey, oldKey]));
    expect(report.flowPrivateKeys).toEqual({ reencrypted: 1, alreadyCurrent: 0 });
    const stored = (await endpoints.get(raw._id))!.keys[0]!;
    expect(new TokenVault([newKey], { acceptUnbound: false }).decrypt(stored.privateKey, clientId)).toBe(pem);
    expect((await reencryptStoredTokens(h.db, new TokenVault([newKey]))).flowPrivateKeys).toEqual({
      reencrypted: 0,
      alreadyCurrent: 1,
    });
    await endpoints.model.deleteMany({});
  });

  it("binds the secrets written before client binding (AAD = key id only) to their client, same key", async () => {
    await h.db.clients.deleteMany({});
    const a = await connectNew("legacy-1");
    const raw = (await rawClient(h, { phoneNumberId: a.number.id }))!;
    const clientId = raw._id.toHexString();
    // As stored before the binding: encrypted under the current key with the key id alone as AAD.
    await h.db.connection
      .db!.collection("clients")
      .updateOne({ _id: raw._id }, { $set: { accessToken: oldVault.encrypt(a.accessToken) } });
    expect(oldVault.isBoundTo((await rawClient(h, { _id: raw._id }))!.accessToken!, clientId)).toBe(false);

    const report = await reencryptStoredTokens(h.db, oldVault);
    expect(report).toMatchObject({ scanned: 1, reencrypted: 1, alreadyCurrent: 1, failed: [] });
    const after = (await rawClient(h, { _id: raw._id }))!;
    expect(oldVault.isBoundTo(after.accessToken!, clientId)).toBe(true);
    expect(new TokenVault([oldKey], { acceptUnbound: false }).decrypt(after.accessToken, clientId)).toBe(a.accessToken);
  });

  it("reports a tampered ciphertext and leaves it as it is", async () => {
    await h.db.clients.deleteMany({});
    const a = await connectNew("tamper-1");
    const raw = (await rawClient(h, { phoneNumberId: a.number.id }))!;
    const data = Buffer.from(raw.accessToken!.data, "base64");
    const truncated = data.subarray(0, data.length - 4).toString("base64");
    await h.db.connection
      .db!.collection("clients")
      .updateOne({ _id: raw._id }, { $set: { "accessToken.data": truncated } });

    const report = await reencryptStoredTokens(h.db, new TokenVault([newKey, oldKey]));
    expect(report.failed).toEqual([
      { clientId: raw._id.toHexString(), field: "accessToken", error: "VAULT_ERR_TAMPERED" },
    ]);
    expect((await rawClient(h, { _id: raw._id }))!.accessToken!.data).toBe(truncated);
  });

  it("upgrades the proof of concept's ivHex:tagHex:ciphertextHex tokens, run as a process", async () => {
    await h.db.clients.deleteMany({});
    const a = await connectNew("poc-1");
    const raw = (await rawClient(h, { phoneNumberId: a.number.id }))!;
    // The proof of concept's encrypt, under the key it used (now the old one).
    const iv = randomBytes(16);
    const cipher = createCipheriv("aes-256-gcm", Buffer.from(oldKey, "hex"), iv);
    let encrypted = cipher.update(a.accessToken, "utf8", "hex");
    encrypted += cipher.final("hex");
    const legacy = iv.toString("hex") + ":" + cipher.getAuthTag().toString("hex") + ":" + encrypted;
    await h.db.connection.db!.collection("clients").updateOne({ _id: raw._id }, { $set: { accessToken: legacy } });
    expect(oldVault.decrypt(legacy, raw._id.toHexString())).toBe(a.accessToken);

    const env = { MONGODB_URI: h.services.mongoUrl, TOKEN_ENCRYPTION_KEY: `${newKey},${oldKey}` };
    const dry = await runCli("src/cli/reencrypt-tokens.ts", env, ["--dry-run"]);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, upgradedLegacy: 1, failed: [] });
    expect((await h.db.connection.db!.collection("clients").findOne({ _id: raw._id }))!.accessToken).toBe(legacy);

    const run = await runCli("src/cli/reencrypt-tokens.ts", env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ scanned: 1, reencrypted: 2, upgradedLegacy: 1, failed: [] });
    expect(run.stdout).not.toContain(a.accessToken);
    const after = (await rawClient(h, { _id: raw._id }))!;
    expect(new TokenVault([newKey], { acceptUnbound: false }).decrypt(after.accessToken, raw._id.toHexString())).toBe(
      a.accessToken,
    );
  });

  it("reports a tampered proof-of-concept token and leaves it as it is", async () => {
    await h.db.clients.deleteMany({});
    const a = await connectNew("poc-2");
    const raw = (await rawClient(h, { phoneNumberId: a.number.id }))!;
    const tampered = `${"ab".repeat(16)}:${"cd".repeat(16)}:${"ef".repeat(20)}`;
    await h.db.connection.db!.collection("clients").updateOne({ _id: raw._id }, { $set: { accessToken: tampered } });
    const report = await reencryptStoredTokens(h.db, new TokenVault([newKey, oldKey]));
    expect(report.failed).toEqual([
      { clientId: raw._id.toHexString(), field: "accessToken", error: "VAULT_ERR_TAMPERED" },
    ]);
    expect((await h.db.connection.db!.collection("clients").findOne({ _id: raw._id }))!.accessToken).toBe(tampered);
  });

  it("runs as a process and prints its report", async () => {
    await h.db.clients.deleteMany({});
    await connectNew("proc-rot");
    const run = await runCli("src/cli/reencrypt-tokens.ts", {
      MONGODB_URI: h.services.mongoUrl,
      TOKEN_ENCRYPTION_KEY: `${newKey},${oldKey}`,
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      currentKeyId: new TokenVault([newKey]).currentKeyId,
      scanned: 1,
      reencrypted: 2,
      failed: [],
    });
  });
});
