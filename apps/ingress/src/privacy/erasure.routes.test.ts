import { Queue } from "bullmq";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERASURE_QUEUE, erasureJobId } from "@linkojob/queues";
import { tokenFor } from "@linkojob/testing";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let ingress: TestIngress;
let queue: Queue;
let own: Types.ObjectId;
let other: Types.ObjectId;

beforeAll(async () => {
  ingress = await startTestIngress("erasure-routes");
  queue = new Queue(ERASURE_QUEUE, { connection: ingress.redis, prefix: ingress.services.prefix });
  const make = (n: number) =>
    ingress.db.clients.create({
      userId: `erase-recruiter-${n}`,
      companyName: `Erase ${n}`,
      phoneNumberId: `66100000${n}`,
      wabaId: `waba-erase-${n}`,
      whatsappNumber: `21252200000${n}`,
      status: "active",
    });
  own = (await make(1))._id;
  other = (await make(2))._id;
});
afterAll(async () => {
  await queue?.close();
  await ingress?.close();
});

const erase = async (clientId: Types.ObjectId, body: unknown, token: string) =>
  ingress.app.inject({
    method: "POST",
    url: `/api/clients/${clientId.toHexString()}/candidates/erase`,
    headers: { authorization: `Bearer ${token}` },
    payload: body as Record<string, unknown>,
  });

describe("POST /api/clients/:clientId/candidates/erase", () => {
  it("accepts a recruiter's request for its own client with 202, queues one job, and names no identifier", async () => {
    const token = await tokenFor("erase-recruiter-1");
    const res = await erase(own, { candidatePhone: "0612345671", reason: "candidate asked on 2026-12-01" }, token);
    expect(res.statusCode).toBe(202);
    const body = res.json<{ erasureId: string; status: string; removed: object }>();
    expect(body).toMatchObject({ status: "running", removed: {}, clientIds: [own.toHexString()], allTenants: false });
    expect(res.body).not.toContain("612345671");
    expect(await queue.getJob(erasureJobId(body.erasureId))).toBeTruthy();
    // Stored normalised while it runs, so the worker finds the conversations.
    expect((await ingress.db.erasures.findById(body.erasureId).lean())?.subject).toEqual({
      phones: ["212612345671"],
      userIds: [],
    });

    const again = await erase(own, { candidatePhone: "+212 612 345 671", reason: "asked twice" }, token);
    expect(again.json<{ erasureId: string }>().erasureId).toBe(body.erasureId);

    const status = await ingress.app.inject({
      method: "GET",
      url: `/api/clients/${own.toHexString()}/candidates/erase/${body.erasureId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ erasureId: body.erasureId, status: "running" });
    expect(status.body).not.toContain("612345671");
  });

  it("refuses another tenant's recruiter (403) and hides the erasure from it (404)", async () => {
    const token = await tokenFor("erase-recruiter-2");
    const res = await erase(own, { candidateUserId: "MA.Zz12345678", reason: "not mine" }, token);
    expect(res.statusCode).toBe(403);
    const mine = await erase(
      own,
      { candidateUserId: "MA.Zz12345678", reason: "mine" },
      await tokenFor("erase-recruiter-1"),
    );
    const seen = await ingress.app.inject({
      method: "GET",
      url: `/api/clients/${other.toHexString()}/candidates/erase/${mine.json<{ erasureId: string }>().erasureId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(seen.statusCode).toBe(404);
  });

  it("lets only an admin erase in every tenant", async () => {
    const body = { candidatePhone: "212612345672", reason: "everywhere", allTenants: true };
    expect((await erase(own, body, await tokenFor("erase-recruiter-1"))).statusCode).toBe(403);
    expect((await erase(own, body, await tokenFor("backend", "service"))).statusCode).toBe(403);
    const admin = await erase(own, body, await tokenFor("ops", "admin"));
    expect(admin.statusCode).toBe(202);
    expect(admin.json()).toMatchObject({ allTenants: true });
  });

  it("answers 400 naming the problem: no identifier, a malformed phone, no reason", async () => {
    const token = await tokenFor("backend", "service");
    const none = await erase(own, { reason: "who?" }, token);
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ error: { code: "VALIDATION_ERROR" } });
    expect(none.body).toContain("candidatePhone or candidateUserId is required");
    const bad = await erase(own, { candidatePhone: "0abc", reason: "typo" }, token);
    expect(bad.statusCode).toBe(400);
    const noReason = await erase(own, { candidatePhone: "212612345673" }, token);
    expect(noReason.statusCode).toBe(400);
    expect(noReason.body).toContain("reason");
  });
});
