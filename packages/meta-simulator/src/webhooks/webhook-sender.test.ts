import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "@linkojob/whatsapp";
import { eventually, freePort } from "@linkojob/testing";
import { textMessageDelivery } from "./payloads.js";
import { startRecordingReceiver, type RecordingReceiver } from "./recording-receiver.js";
import { WebhookDeliveryError, WebhookSender, backoffDelay, escapeNonAscii } from "./webhook-sender.js";

const secret = "sim-test-app-secret";
const business = { wabaId: "100200300", phoneNumberId: "555000111" };
const candidate = { waId: "212612345678", name: "Yasmine Benali" };
const texts = {
  French: "Bonjour, je suis intéressée par le poste à Casablanca, ça me plaît beaucoup",
  Arabic: "مرحبا، أنا مهتمة بالوظيفة في الدار البيضاء",
  emoji: "Merci 🙏🏽👍 à bientôt",
};

/** Statuses answered, in order, by the receiver; 200 once the list is exhausted. */
let script: number[] = [];
let receiver: RecordingReceiver;
beforeAll(async () => {
  receiver = await startRecordingReceiver((_post, i) => script[i] ?? 200);
});
afterAll(() => receiver.close());
afterEach(() => {
  receiver.received.length = 0;
  script = [];
});

describe("WebhookSender signs exactly the bytes it sends", () => {
  it.each(Object.entries(texts))(
    "UTF-8 %s text (when asked): the raw bytes received verify with the app secret",
    async (_label, text) => {
      const sender = new WebhookSender(secret, receiver.url, { encoding: "utf8" });
      const payload = textMessageDelivery(business, candidate, text);
      const result = await sender.send(payload);
      expect(result).toEqual({ status: 200, body: "EVENT_RECEIVED", attempts: 1 });

      const [post] = receiver.received;
      expect(post).toBeDefined();
      // UTF-8 on the wire, unescaped, byte for byte what JSON.stringify gives.
      expect(post!.raw.equals(Buffer.from(JSON.stringify(payload), "utf8"))).toBe(true);
      expect(post!.raw.includes(Buffer.from(text, "utf8"))).toBe(true);
      expect(post!.headers["content-type"]).toBe("application/json");
      expect(verifyWebhookSignature(post!.raw, post!.headers["x-hub-signature-256"], secret)).toBe(true);
      expect(verifyWebhookSignature(post!.raw, post!.headers["x-hub-signature-256"], "another-secret")).toBe(false);
      expect(JSON.parse(post!.raw.toString("utf8"))).toEqual(payload);
    },
  );

  it.each(Object.entries(texts))(
    "%s text by default as Meta sends it: ASCII-only bytes with lowercase \\u escapes, signed as sent",
    async (_label, text) => {
      const sender = new WebhookSender(secret, receiver.url);
      const payload = textMessageDelivery(business, candidate, text);
      await sender.send(payload);

      const [post] = receiver.received;
      expect(post!.raw.every((byte) => byte < 0x80)).toBe(true);
      expect(post!.raw.toString("latin1")).toContain(escapeNonAscii(text));
      expect(post!.raw.toString("latin1")).toMatch(/\\u[0-9a-f]{4}/);
      expect(post!.raw.toString("latin1")).not.toMatch(/\\u[0-9a-f]{0,3}[A-F]/);
      const header = post!.headers["x-hub-signature-256"];
      expect(verifyWebhookSignature(post!.raw, header, secret)).toBe(true);
      // The same JSON re-serialised as UTF-8 is other bytes: a receiver must hash what it got.
      expect(verifyWebhookSignature(Buffer.from(JSON.stringify(payload), "utf8"), header, secret)).toBe(false);
      expect(JSON.parse(post!.raw.toString("utf8"))).toEqual(payload);
    },
  );

  it("sends a string payload byte for byte (even malformed JSON) and signs it", async () => {
    const sender = new WebhookSender(secret, receiver.url);
    const raw = '{"object":"whatsapp_business_account","entry":[{"é":';
    await sender.send(raw);
    const [post] = receiver.received;
    expect(post!.raw.toString("utf8")).toBe(raw);
    expect(verifyWebhookSignature(post!.raw, post!.headers["x-hub-signature-256"], secret)).toBe(true);
  });

  it("sends a forged signature as given, and no header when asked for none", async () => {
    const sender = new WebhookSender(secret, receiver.url);
    await sender.send({ object: "whatsapp_business_account", entry: [] }, { signature: "sha256=" + "0".repeat(64) });
    await sender.send({ object: "whatsapp_business_account", entry: [] }, { signature: null });
    const [forged, unsigned] = receiver.received;
    expect(forged!.headers["x-hub-signature-256"]).toBe("sha256=" + "0".repeat(64));
    expect(verifyWebhookSignature(forged!.raw, forged!.headers["x-hub-signature-256"], secret)).toBe(false);
    expect(unsigned!.headers["x-hub-signature-256"]).toBeUndefined();
  });
});

describe("WebhookSender retries like Meta, when asked", () => {
  it("makes one POST by default and reports a non-200 as a result", async () => {
    script = [503];
    const sender = new WebhookSender(secret, receiver.url);
    const result = await sender.send(textMessageDelivery(business, candidate, "salut"));
    expect(result).toMatchObject({ status: 503, attempts: 1 });
    expect(receiver.received).toHaveLength(1);
  });

  it("retries non-200 answers with the same bytes and signature until a 200", async () => {
    script = [503, 500];
    const sender = new WebhookSender(secret, receiver.url, { retry: { attempts: 5, initialDelayMs: 5 } });
    const result = await sender.send(textMessageDelivery(business, candidate, "Je relance ma candidature ✅"));
    expect(result).toEqual({ status: 200, body: "EVENT_RECEIVED", attempts: 3 });
    expect(receiver.received).toHaveLength(3);
    const [first, ...rest] = receiver.received;
    for (const post of rest) {
      expect(post.raw.equals(first!.raw)).toBe(true);
      expect(post.headers["x-hub-signature-256"]).toBe(first!.headers["x-hub-signature-256"]);
    }
  });

  it("stops after the bounded number of attempts and returns the last answer", async () => {
    script = [500, 500, 500, 500];
    const sender = new WebhookSender(secret, receiver.url, { retry: { attempts: 3, initialDelayMs: 1 } });
    const result = await sender.send(textMessageDelivery(business, candidate, "x"));
    expect(result).toMatchObject({ status: 500, attempts: 3 });
    expect(receiver.received).toHaveLength(3);
  });

  it("retries network errors and rejects with WebhookDeliveryError when the receiver never answers", async () => {
    const closedPort = await freePort();
    const sender = new WebhookSender(secret, `http://127.0.0.1:${closedPort}/webhook`, {
      retry: { attempts: 3, initialDelayMs: 1 },
    });
    const records: unknown[] = [];
    sender.onDelivery((r) => records.push(r));
    const error = await sender.send({ object: "whatsapp_business_account", entry: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect(error).toMatchObject({ code: "SIM_ERR_DELIVERY_FAILED", attempts: 3 });
    expect(records).toEqual([expect.objectContaining({ status: null, attempts: 3, error: expect.any(String) })]);
  });

  it("close() ends the waits between retries: the send finishes with its last answer", async () => {
    script = [500, 500, 500];
    const sender = new WebhookSender(secret, receiver.url, { retry: { attempts: 3, initialDelayMs: 600_000 } });
    const pending = sender.send(textMessageDelivery(business, candidate, "x"));
    await eventually(() => receiver.received.length === 1);
    sender.close();
    sender.close(); // idempotent
    await expect(pending).resolves.toMatchObject({ status: 500, attempts: 1 });
  });

  it("backs off exponentially up to the cap", () => {
    const policy = { attempts: 10, initialDelayMs: 1_000, factor: 2, maxDelayMs: 5_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});
