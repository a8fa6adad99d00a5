import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "@linkojob/testing";
import { startTestIngress, type TestIngress } from "../ingress.harness.js";

let ingress: TestIngress;
let own: Types.ObjectId;
let other: Types.ObjectId;
// The deployment's defaults as main.ts passes them from RETENTION_*.
const defaults = { webhookEventsDays: 14, deadLettersDays: 60, messagesMonths: 12 };

beforeAll(async () => {
  ingress = await startTestIngress("retention-routes", { config: { retentionDefaults: defaults } });
  const make = (n: number) =>
    ingress.db.clients.create({
      userId: `retention-recruiter-${n}`,
      companyName: `Retention ${n}`,
      phoneNumberId: `66200000${n}`,
      wabaId: `waba-retention-${n}`,
      whatsappNumber: `21252210000${n}`,
      status: "active",
    });
  own = (await make(1))._id;
  other = (await make(2))._id;
});
afterAll(async () => {
  await ingress?.close();
});

const call = async (method: "GET" | "PUT", clientId: Types.ObjectId, token: string, payload?: unknown) =>
  ingress.app.inject({
    method,
    url: `/api/clients/${clientId.toHexString()}/retention`,
    headers: { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

describe("GET/PUT /api/clients/:clientId/retention", () => {
  it("shows the defaults, then the recruiter's own periods (null: never), stored for the purge", async () => {
    const token = await tokenFor("retention-recruiter-1");
    const before = await call("GET", own, token);
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual({ clientId: own.toHexString(), ...defaults, overrides: {}, defaults });

    const set = await call("PUT", own, token, { messagesMonths: null, deadLettersDays: 7 });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({
      clientId: own.toHexString(),
      webhookEventsDays: 14,
      deadLettersDays: 7,
      messagesMonths: null,
      overrides: { messagesMonths: null, deadLettersDays: 7 },
      defaults,
    });
    expect((await ingress.db.clients.findById(own).lean())?.retention).toEqual({
      messagesMonths: null,
      deadLettersDays: 7,
    });
    expect((await call("GET", own, token)).json()).toMatchObject({ deadLettersDays: 7, messagesMonths: null });

    // PUT replaces: a field left out follows the default again.
    const back = await call("PUT", own, token, { webhookEventsDays: 3 });
    expect(back.json()).toMatchObject({ webhookEventsDays: 3, deadLettersDays: 60, messagesMonths: 12 });
    expect((await call("PUT", own, token, {})).json()).toMatchObject({ ...defaults, overrides: {} });
    expect((await ingress.db.clients.findById(own).lean())?.retention).toBeUndefined();
  });

  it("lets the platform backend set any client's periods", async () => {
    const res = await call("PUT", other, await tokenFor("backend", "service"), { webhookEventsDays: 45 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ clientId: other.toHexString(), webhookEventsDays: 45 });
  });

  it("refuses bad periods with 400 naming the field, and changes nothing", async () => {
    const token = await tokenFor("retention-recruiter-1");
    await call("PUT", own, token, { deadLettersDays: 30 });
    for (const [body, field] of [
      [{ messagesMonths: 0 }, "messagesMonths"],
      [{ webhookEventsDays: 2.5 }, "webhookEventsDays"],
      [{ deadLettersDays: "never" }, "deadLettersDays"],
      [{ deadLettersDays: 100_000 }, "deadLettersDays"],
      [{ keepForever: true }, "keepForever"],
    ] as const) {
      const res = await call("PUT", own, token, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBeTruthy();
      expect(res.body).toContain(field);
    }
    expect((await call("GET", own, token)).json()).toMatchObject({ overrides: { deadLettersDays: 30 } });
  });

  it("refuses another tenant's recruiter (403) and an unknown client (404)", async () => {
    const token = await tokenFor("retention-recruiter-2");
    expect((await call("GET", own, token)).statusCode).toBe(403);
    expect((await call("PUT", own, token, { messagesMonths: 1 })).statusCode).toBe(403);
    expect((await call("GET", new Types.ObjectId(), await tokenFor("backend", "service"))).statusCode).toBe(404);
  });
});
