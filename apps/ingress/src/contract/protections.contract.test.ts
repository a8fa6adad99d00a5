/**
 * The opt-out register's and the sending policy's REST answers against their contract
 * (@linkojob/events' strict schemas), through the real ingress (app.inject) on the real
 * MongoDB-protocol server and Redis: a key the schema does not name (a stored counter, a dedupe key,
 * a keyed hash, a subdocument's `_id`) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import type { z } from "zod";
import {
  candidateOptOutsSchema,
  optOutChangeAnswerSchema,
  optOutListSchema,
  sendingPolicySchema,
} from "@linkojob/events";
import { ProtectionState } from "@linkojob/outbound";
import { tokenFor } from "@linkojob/testing";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let h: TestIngress;
let seq = 0;

beforeAll(async () => {
  h = await startTestIngress("protections-contract");
});
afterAll(async () => {
  await h?.close();
});

async function client() {
  seq++;
  const c = await h.db.clients.create({
    userId: `protections-user-${h.services.id}-${seq}`,
    companyName: "ACME",
    phoneNumberId: `77${Date.now() % 1_000_000}${seq}`,
    wabaId: `waba-protections-${h.services.id}-${seq}`,
    whatsappNumber: "212522000000",
    status: "active",
  });
  return { doc: c.toObject(), id: c._id.toHexString(), jwt: await tokenFor(c.userId, "recruiter") };
}

const call = async (
  jwt: string,
  method: "GET" | "POST" | "PUT",
  url: string,
  payload?: object,
  headers: Record<string, string> = {},
) => {
  const res = await h.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${jwt}`, ...headers },
    ...(payload ? { payload } : {}),
  });
  return { status: res.statusCode, body: res.json<unknown>() };
};

/** The answer parsed by the contract's schema: no issue, so no key it does not name. */
function fits<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  return parsed.data as z.infer<S>;
}

const phone = () => `2126${String(40_000_000 + seq * 7_919).slice(-8)}`;

describe("GET/POST /api/clients/:clientId/opt-outs answer the contract's shapes", () => {
  it("a recorded change, its replay, the list and one candidate's trail fit their strict schemas", async () => {
    const c = await client();
    const p = phone();
    const path = `/api/clients/${c.id}/opt-outs`;
    const key = { "idempotency-key": `contract-${seq}` };

    const added = await call(c.jwt, "POST", path, { candidatePhone: p, reason: "asked by phone" }, key);
    expect(added.status).toBe(201);
    expect(fits(optOutChangeAnswerSchema, added.body)).toMatchObject({ clientId: c.id, scope: "all", candidates: [p] });
    const replay = await call(c.jwt, "POST", path, { candidatePhone: p, reason: "asked by phone" }, key);
    expect(replay.status).toBe(200);
    expect(fits(optOutChangeAnswerSchema, replay.body).changeId).toBe((added.body as { changeId: string }).changeId);

    const list = fits(optOutListSchema, (await call(c.jwt, "GET", path)).body);
    expect(list.optOuts).toEqual([
      expect.objectContaining({ candidate: p, candidateType: "phone", scope: "all", marketing: null }),
    ]);
    expect(list.nextCursor).toBeNull();

    const trail = fits(candidateOptOutsSchema, (await call(c.jwt, "GET", `${path}?candidatePhone=${p}`)).body);
    expect(trail.scope).toBe("all");
    expect(trail.changes).toEqual([
      expect.objectContaining({
        action: "opt_out",
        source: "recruiter",
        candidates: [p],
        actor: { role: "recruiter", userId: c.doc.userId },
        reason: "asked by phone",
      }),
    ]);
    // What the register stores beside it stays there.
    const stored = await h.db.optOutChanges.findOne({ clientId: c.doc._id }).lean();
    expect(stored?.dedupeKey).toMatch(/^api:/);
    expect(JSON.stringify(trail)).not.toContain(stored!.dedupeKey);
  });

  it("an erased candidate's entry and change show no keyed hash", async () => {
    const c = await client();
    const p = phone();
    const hashed = `hmac:${"ab".repeat(32)}`;
    const repo = h.db.optOutsOf(c.doc._id);
    const at = new Date();
    const { change } = await repo.recordChange({
      dedupeKey: `contract-erased-${seq}`,
      action: "opt_out",
      scope: "all",
      source: "candidate_message",
      keys: [p, hashed],
      wamid: "wamid.contract-erased",
      actor: null,
      reason: null,
      at,
    });
    const state = { active: true, at, source: "candidate_message" as const, owner: "candidate" as const };
    await repo.applyScope([{ key: hashed, keyType: "phone_hash" }], "all", { ...state, changeId: change._id });
    await repo.applyScope([{ key: p, keyType: "phone" }], "all", { ...state, changeId: change._id });

    const list = fits(optOutListSchema, (await call(c.jwt, "GET", `/api/clients/${c.id}/opt-outs`)).body);
    expect(list.optOuts.map((e) => [e.candidate, e.candidateType]).sort()).toEqual([
      [null, "phone_hash"],
      [p, "phone"],
    ]);
    const trail = fits(
      candidateOptOutsSchema,
      (await call(c.jwt, "GET", `/api/clients/${c.id}/opt-outs?candidatePhone=${p}`)).body,
    );
    expect(trail.changes.map((ch) => ch.candidates)).toEqual([[p]]);
    expect(JSON.stringify([list, trail])).not.toContain("hmac:");
  });
});

describe("GET/PUT /api/clients/:clientId/sending-policy answer the contract's shape", () => {
  it("the default, a set policy with a known limit and quality fit the strict schema; a stray stored field stays out", async () => {
    const c = await client();
    const path = `/api/clients/${c.id}/sending-policy`;
    const first = await call(c.jwt, "GET", path);
    expect(first.status).toBe(200);
    expect(fits(sendingPolicySchema, first.body)).toMatchObject({
      clientId: c.id,
      isDefault: true,
      messagingLimit: { limit: null, used: 0, scheduled: 0, nextFreeAt: null },
      quality: null,
    });

    const state = new ProtectionState(h.redis, h.services.prefix, h.db);
    await state.setLimit(c.doc.wabaId, 1_000, "contract-test");
    // A writer that passes more than the quality (here a counter) must not reach the answer.
    const quality = { rating: "YELLOW", event: "FLAGGED", marketingPaused: true, strikes: 3 };
    await state.setQuality(c.doc.phoneNumberId, c.doc.wabaId, quality);

    const put = await call(c.jwt, "PUT", path, { quietHours: { start: "22:00", end: "08:00" }, timeZone: "UTC" });
    expect(put.status).toBe(200);
    const view = fits(sendingPolicySchema, put.body);
    expect(view).toMatchObject({
      isDefault: false,
      quietHours: { start: "22:00", end: "08:00" },
      timeZone: "UTC",
      messagingLimit: { limit: 1_000, used: 0 },
      quality: { rating: "YELLOW", event: "FLAGGED", marketingPaused: true },
    });
    expect(view.messagingLimit.nextFreeAt).not.toBeNull();
    const again = fits(sendingPolicySchema, (await call(c.jwt, "GET", path)).body);
    // nextFreeAt is "now" while there is room: it moves between two reads.
    expect({ ...again, messagingLimit: { ...again.messagingLimit, nextFreeAt: null } }).toEqual({
      ...view,
      messagingLimit: { ...view.messagingLimit, nextFreeAt: null },
    });
  });
});

// The schemas refuse what they do not name: the checks above can fail.
it("a key the contract does not name fails its schema", () => {
  const answer = {
    clientId: new Types.ObjectId().toHexString(),
    changeId: new Types.ObjectId().toHexString(),
    scope: null,
    conversationId: null,
    candidates: [],
  };
  expect(optOutChangeAnswerSchema.safeParse(answer).success).toBe(true);
  expect(optOutChangeAnswerSchema.safeParse({ ...answer, dedupeKey: "api:x" }).success).toBe(false);
});
