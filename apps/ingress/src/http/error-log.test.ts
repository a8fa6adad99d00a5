import { Writable } from "node:stream";
import Fastify, { type FastifyBaseLogger } from "fastify";
import pino from "pino";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logOptions } from "@linkojob/config";
import { Database } from "@linkojob/db";
import { testServices } from "@linkojob/testing";
import { installErrorHandler } from "./errors.js";

// What a 500 writes to the log, through the processes' pino options and the ingress's error handler,
// for a real duplicate-key error from the MongoDB-protocol server (it names the duplicated value).

const services = testServices("errorlog");
let db: Database;
beforeAll(async () => {
  db = await Database.connect(services.mongoUrl);
  await db.conversations.init();
});
afterAll(async () => {
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { logger: pino({ level: "info", ...logOptions }, stream), lines };
}

const PHONE = "212612345678";

async function duplicateKeyError(): Promise<Error> {
  const doc = {
    clientId: new Types.ObjectId(),
    candidateKey: PHONE,
    candidatePhone: PHONE,
    status: "active",
    messageCount: 0,
    unreadCount: 0,
    readUpTo: new Date(0),
    inWindow: false,
  };
  await db.conversations.collection.insertOne({ ...doc });
  try {
    await db.conversations.collection.insertOne({ ...doc });
  } catch (err) {
    return err as Error;
  }
  throw new Error("the second insert was not refused");
}

describe("errors in the logs", () => {
  it("a 500 caused by a duplicate key logs the error's type, code and stack, never the duplicated phone number (keyValue, message)", async () => {
    const dup = await duplicateKeyError();
    // MongoDB 7 names the value twice: in keyValue and in the message. The stand-in may omit keyValue:
    // give it MongoDB's shape so that both reach the log.
    Object.assign(dup, { keyValue: { clientId: "x", candidateKey: PHONE } });
    const { logger, lines } = capturingLogger();
    const loggerInstance: FastifyBaseLogger = logger;
    const app = Fastify({ loggerInstance });
    installErrorHandler(app);
    app.get("/boom", () => Promise.reject(dup));
    const res = await app.inject({ method: "GET", url: "/boom" });
    await app.close();
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain(PHONE);
    const failed = lines
      .map((l) => JSON.parse(l) as { msg?: string; err?: Record<string, unknown> })
      .find((l) => l.msg === "request failed");
    expect(failed?.err).toMatchObject({ type: expect.any(String), code: 11000 });
    expect(String(failed!.err!.stack)).toContain("error-log.test");
    expect(failed!.err).not.toHaveProperty("keyValue");
    expect(lines.join("\n")).not.toContain(PHONE);
  });

  it("phone numbers, texts and tokens are hidden at any depth and in the message, ids kept where they are ids", () => {
    const { logger, lines } = capturingLogger();
    logger.warn(
      {
        deliveryId: "1732470000123-0",
        phoneNumberId: "106540352242922",
        a: { b: { c: { d: { phoneNumber: PHONE, candidatePhone: PHONE, body: "Bonjour", note: `call +${PHONE}` } } } },
        list: [{ e: { accessToken: "EAAGsecret", wamid: "wamid.HBgLMjEyNjEyMzQ1Njc4FQIAEhgUM0E" } }],
      },
      "deep",
    );
    logger.info({ deliveryId: "1732470000123-0" }, `stored a message from +${PHONE}`);
    const out = lines.join("\n");
    for (const secret of [PHONE, "Bonjour", "EAAGsecret", "HBgLMjEy"]) expect(out, secret).not.toContain(secret);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ deliveryId: "1732470000123-0", phoneNumberId: "106540352242922", msg: "deep" });
  });
});
