import { randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageDoc } from "@linkojob/db";
import { userIdForPhone } from "@linkojob/meta-simulator";
import { eventually, testServices } from "@linkojob/testing";
import { startStack, type Stack } from "../harness/stack.harness.js";
import { scanDatabase, scanLogs, scanRedis, type Trace } from "../harness/personal-data-scan.harness.js";

/**
 * Proof that an erasure leaves nothing: a candidate is written through every path (first-contact
 * template, text, CV document, image, reaction, a reply from the API, status webhooks with errors, a
 * dead letter, a number change), erased through the API, then every collection (GridFS and
 * webhook_events included), every Redis key and stream of the deployment and every log line the
 * processes wrote is searched for their numbers, user ids, name and texts: nothing. Their opt-out
 * (a STOP before the number change, carried to the new number) survives only as keyed hashes: a send
 * to either number is still refused (409 CANDIDATE_OPTED_OUT), and a new message from them starts a
 * fresh conversation.
 */
const tag = randomBytes(3).toString("hex");
const PHONE = `2126${randomInt(10_000_000, 99_999_999)}`;
const NEW_PHONE = `2127${randomInt(10_000_000, 99_999_999)}`;
const NAME = `Nadia Erasmus${tag}`;
const TEXTS = {
  hello: `Bonjour, candidature ${tag} pour le poste`,
  caption: `Mon CV ${tag} en piece jointe`,
  photo: `Photo ${tag} de mon diplome`,
  reply: `Merci Nadia ${tag}, entretien jeudi`,
  afterChange: `Nouveau numero ${tag} pour me joindre`,
  cv: `%PDF-1.4 curriculum ${tag} ${NAME}`,
};
/** An error code no handler knows how to read (the test's status hook fails on it). */
const POISON_CODE = 999_001;

const lines: string[] = [];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    services: testServices("erasure-e2e"),
    concurrency: 4,
    inboundMedia: true,
    statusStepDelayMs: 20,
    logSink: { write: (line: string) => void lines.push(line) },
    client: {
      companyName: "Erasure Recruiting",
      phoneNumberId: `9${randomInt(10_000_000, 99_999_999)}`,
      wabaId: `waba-erasure-${tag}`,
      whatsappNumber: `2125${randomInt(10_000_000, 99_999_999)}`,
    },
    // A status our code cannot handle, every time: its delivery becomes a dead letter naming the candidate.
    wrapStatusHook: (hook) => async (tenant, status, outcome) => {
      if (status.errors?.some((e) => e.code === POISON_CODE))
        throw new TypeError("status hook cannot read this status");
      return hook(tenant, status, outcome);
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const business = () => ({ phoneNumberId: stack.client.phoneNumberId, wabaId: stack.client.wabaId });
async function sim<T = { wamid: string }>(path: string, body: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${stack.sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...business(), ...body }),
  });
  const answer = (await res.json()) as T & { delivery?: { status: number } };
  expect(res.status, JSON.stringify(answer)).toBeLessThan(300);
  return answer;
}
async function api<T = unknown>(
  method: "GET" | "POST",
  path: string,
  payload?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.ingressUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.jwt}`, ...(payload ? { "content-type": "application/json" } : {}) },
    ...(payload ? { body: JSON.stringify(payload) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}
const message = (wamid: string) => stack.db.messages.findOne({ wamid }).lean<MessageDoc>();
async function seedMedia(bytes: Buffer, mime: string, filename?: string) {
  const res = await fetch(`${stack.sim.url}/_sim/media`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      data: bytes.toString("base64"),
      mime_type: mime,
      token: `tok-${stack.services.id}`,
      ...(filename ? { filename } : {}),
    }),
  });
  return (await res.json()) as { id: string; sha256Base64: string };
}
/** Nothing of the deployment is still on its way: the ingress streams (webhooks, sends) and every queue are empty of pending work. */
async function settled(): Promise<boolean> {
  const redis = stack.redis();
  const stream =
    (await redis.xlen(`${stack.prefix}:ingress:webhooks`).catch(() => 0)) +
    (await redis.xlen(`${stack.prefix}:ingress:sends`).catch(() => 0));
  const counts = await stack.inbound.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
  const out = await stack.outbound.queue.getJobCounts("waiting", "active", "prioritized");
  return stream === 0 && Object.values(counts).every((n) => n === 0) && Object.values(out).every((n) => n === 0);
}

describe("a candidate's erasure", () => {
  it("leaves no trace of them in any collection, Redis key or log line, and a new message starts afresh", async () => {
    const clientId = stack.clientId;
    const userId = userIdForPhone(PHONE);

    // 1. The first-contact template, sent by the platform's API.
    const template = await api<{ messageId: string; kind: string }>("POST", "/api/messages/send", {
      clientId,
      candidatePhone: PHONE,
      candidateName: NAME,
      jobTitle: "Comptable",
    });
    expect(template.status, JSON.stringify(template.body)).toBe(202);
    expect(template.body.kind).toBe("template");
    const sentTemplate = await eventually(async () => {
      const m = await stack.db.messages.findById(template.body.messageId).lean<MessageDoc>();
      return m?.status === "read" ? m : null;
    }, 30_000);

    // 2. The candidate answers: text, a CV, a photo, a reaction.
    const hello = await sim("/_sim/candidates/reply", { from: PHONE, name: NAME, type: "text", text: TEXTS.hello });
    const cvFile = await seedMedia(Buffer.from(TEXTS.cv), "application/pdf", `CV ${NAME}.pdf`);
    const cv = await sim("/_sim/candidates/reply", {
      from: PHONE,
      name: NAME,
      type: "document",
      media: {
        id: cvFile.id,
        sha256: cvFile.sha256Base64,
        mimeType: "application/pdf",
        filename: `CV ${NAME}.pdf`,
        caption: TEXTS.caption,
      },
    });
    const photoFile = await seedMedia(Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from(tag)]), "image/jpeg");
    const photo = await sim("/_sim/candidates/reply", {
      from: PHONE,
      name: NAME,
      type: "image",
      media: { id: photoFile.id, sha256: photoFile.sha256Base64, mimeType: "image/jpeg", caption: TEXTS.photo },
    });
    await sim("/_sim/candidates/reply", {
      from: PHONE,
      name: NAME,
      type: "reaction",
      reaction: { messageId: sentTemplate.wamid!, emoji: "👍" },
    });
    for (const w of [cv.wamid, photo.wamid])
      await eventually(async () => {
        const m = await message(w);
        if (m?.media?.status === "failed") throw new Error(`media failed: ${JSON.stringify(m.media.error)}`);
        return m?.media?.status === "stored";
      }, 30_000);

    // 3. The recruiter replies from the API (inside the window: a text), and Meta reports an error on it.
    const reply = await api<{ messageId: string; kind: string }>("POST", "/api/messages/send", {
      clientId,
      candidatePhone: PHONE,
      message: TEXTS.reply,
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    const sentReply = await eventually(async () => {
      const m = await stack.db.messages.findById(reply.body.messageId).lean<MessageDoc>();
      return m?.wamid && m.status === "read" ? m : null;
    }, 30_000);
    await sim("/_sim/webhooks/status", {
      wamid: sentReply.wamid,
      status: "failed",
      recipientId: PHONE,
      errors: [{ code: 131026, title: "Message undeliverable", details: `Undeliverable to ${PHONE}` }],
    });
    // A status whose handling fails for good: a dead letter holding the delivery (and the number).
    await sim("/_sim/webhooks/status", {
      wamid: sentTemplate.wamid,
      status: "failed",
      recipientId: PHONE,
      errors: [{ code: POISON_CODE, title: "Unknown", details: `for ${PHONE}` }],
    });
    await eventually(() => stack.db.webhookEvents.exists({ kind: "dead_letter" }), 30_000);

    // 3b. They opt out (STOP): the register records it under their number and user id.
    await sim("/_sim/candidates/reply", { from: PHONE, name: NAME, type: "text", text: "STOP" });
    await eventually(async () => {
      const r = await api<{ scope: string | null }>("GET", `/api/clients/${clientId}/opt-outs?candidatePhone=${PHONE}`);
      return r.body.scope === "all";
    }, 30_000);

    // 4. They change number, and write from the new one.
    // Meta regenerates the user id with the number: the new one is what their next messages carry.
    const change = await sim<{ identity: { userId: string } }>("/_sim/candidates/identity-change", {
      change: "number",
      from: PHONE,
      newWaId: NEW_PHONE,
      name: NAME,
    });
    // They write from the new number at once: the message may be processed before the change (Meta
    // delivers unordered), and still ends in their one conversation.
    const later = await sim("/_sim/candidates/reply", {
      from: NEW_PHONE,
      userId: change.identity.userId,
      name: NAME,
      type: "text",
      text: TEXTS.afterChange,
    });
    // One conversation holds everything once the deliveries are settled: the new number's message and the first ones.
    await eventually(settled, 30_000);
    const conv = await eventually(async () => {
      const m = await message(later.wamid);
      const c = m ? await stack.db.conversations.findById(m.conversationId).lean() : null;
      return c?.candidatePhone === NEW_PHONE && (await message(hello.wamid))?.conversationId.equals(c._id) ? c : null;
    }, 30_000);
    expect(await stack.db.conversations.countDocuments({ clientId })).toBe(1);
    // The opt-out followed them to the new number.
    await eventually(async () => {
      const r = await api<{ scope: string | null }>(
        "GET",
        `/api/clients/${clientId}/opt-outs?candidatePhone=${NEW_PHONE}`,
      );
      return r.body.scope === "all";
    }, 30_000);

    const newUserId = conv.candidateUserId;
    const needles = [PHONE, NEW_PHONE, userId, ...(newUserId ? [newUserId] : []), NAME, ...Object.values(TEXTS)];
    const everything = async (): Promise<Trace[]> => [
      ...(await scanDatabase(stack.db.connection.db!, needles)),
      ...(await scanRedis(stack.redis(), `${stack.services.prefix}*`, needles)),
    ];
    // The scans see the person everywhere they were written.
    const before = new Set((await everything()).map((t) => t.where.split(" ").slice(0, 3).join(" ")));
    for (const where of ["messages", "conversations", "media.chunks", "webhook_events", "opt_outs", "opt_out_changes"])
      expect(before).toContain(where);
    expect([...before].some((w) => w.startsWith("redis"))).toBe(true);

    // 5. The erasure, asked by the recruiter with the number they have now.
    const logsBefore = lines.length;
    const asked = await api<{ erasureId: string; status: string }>(
      "POST",
      `/api/clients/${clientId}/candidates/erase`,
      {
        candidatePhone: NEW_PHONE,
        reason: "candidate request received by email",
      },
    );
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(asked.body.status).toBe("running");
    const done = await eventually(async () => {
      const r = await api<{ status: string; removed: Record<string, number> }>(
        "GET",
        `/api/clients/${clientId}/candidates/erase/${asked.body.erasureId}`,
      );
      return r.body.status === "done" ? r.body : null;
    }, 60_000);
    expect(done.removed).toMatchObject({ conversations: 1, media_files: 2 });
    // Both numbers and both user ids had the opt-out (the STOP, then carried by the number change).
    expect(done.removed.opt_out_hashed).toBeGreaterThanOrEqual(3);
    expect(done.removed.messages).toBeGreaterThanOrEqual(7);
    expect(done.removed.webhook_events).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeGreaterThan(logsBefore);

    // 6. The opt-out survived as keyed hashes: a send to either number is refused, nothing stored.
    const messagesBefore = await stack.db.messages.countDocuments({});
    for (const candidatePhone of [NEW_PHONE, PHONE]) {
      const refused = await api<{ error: { code: string; details: { scope: string } } }>("POST", "/api/messages/send", {
        clientId,
        candidatePhone,
        candidateName: NAME,
        jobTitle: "Comptable",
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body.error).toMatchObject({ code: "CANDIDATE_OPTED_OUT", details: { scope: "all" } });
    }
    expect(await stack.db.messages.countDocuments({})).toBe(messagesBefore);

    // 7. Nothing left: database, GridFS, Redis, logs.
    expect(await everything()).toEqual([]);
    expect(scanLogs(lines, needles)).toEqual([]);
    // The costs survive, anonymised.
    const costs = await api<{ count: number; total: number }>("GET", `/api/messages/costs?clientId=${clientId}`);
    expect(costs.body.count).toBeGreaterThanOrEqual(1);

    // 8. A new message from them starts a fresh conversation (still opted out: only their START lifts it).
    const fresh = await sim("/_sim/candidates/reply", {
      from: NEW_PHONE,
      userId,
      name: NAME,
      type: "text",
      text: "Bonjour",
    });
    const restarted = await eventually(async () => {
      const m = await message(fresh.wamid);
      return m ? stack.db.conversations.findById(m.conversationId).lean() : null;
    }, 30_000);
    expect(restarted._id.equals(conv._id)).toBe(false);
    expect(restarted.messageCount).toBe(1);
    expect(await stack.db.messages.countDocuments({ conversationId: restarted._id })).toBe(1);
  }, 240_000);
});
