/**
 * Prices per message, per country, dated. The send API's estimate comes from the rate card
 * (utility template to Morocco 0.40 MAD, marketing to France at France's rate), the pricing object of
 * the simulator's status webhooks decides what was billed, and GET /api/messages/costs reports both.
 * Real ingress, Redis, FerretDB, outbound and inbound workers, simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { CostTotals } from "@linkojob/db";
import { eventually } from "@linkojob/testing";
import { SHIPPED_RATE_CARD, rateFor } from "@linkojob/outbound";
import { simTemplate } from "@linkojob/meta-simulator";
import { APPLICATION_RECEIVED, startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

let rig: OutboundRig;

beforeAll(async () => {
  rig = await startOutbound("i9price");
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

const costs = async (jwt: string) => {
  const res = await request(`${rig.trunk.ingressUrl}/api/messages/costs`, {
    headers: { authorization: `Bearer ${jwt}` },
  });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as CostTotals;
};

describe("rate card and billed costs", () => {
  it("estimates by category and country, bills from Meta's pricing, reports both", async () => {
    const offer = simTemplate({
      name: "offre_emploi",
      language: "fr",
      body: "Une nouvelle offre vous attend sur Linkojob.",
      category: "MARKETING",
    });
    const c = await rig.client({ templates: [APPLICATION_RECEIVED(), offer] });
    const ma = await rig.send(c.jwt, { candidatePhone: "212611000020", candidateName: "Amal", jobTitle: "Comptable" });
    const fr = await rig.send(c.jwt, { candidatePhone: "33612345678", templateName: "offre_emploi", templateVars: [] });
    expect(ma).toMatchObject({ status: 202, body: { kind: "template", cost: 0.4 } });
    const frRate = rateFor(SHIPPED_RATE_CARD, "marketing", "FR")!;
    expect(frRate).not.toBe(rateFor(SHIPPED_RATE_CARD, "marketing", "MA"));
    expect(fr).toMatchObject({ status: 202, body: { kind: "template", cost: frRate } });

    // Both templates reach "Meta" first: a utility template that arrives once the candidate has
    // written is inside the window, and Meta bills it as free customer service.
    await rig.until(c, ma.body.messageId, ["sent", "delivered", "read"]);
    await rig.until(c, fr.body.messageId, ["sent", "delivered", "read"]);
    // The candidate in Morocco writes; a text inside the window is a service message, billed since
    // 2026-10-01 at Morocco's utility rate (it was free until 30 September).
    await rig.candidateWrites(c, "212611000020", "Merci !");
    const text = await rig.send(c.jwt, { candidatePhone: "212611000020", message: "Êtes-vous disponible demain ?" });
    const serviceRate = rateFor(SHIPPED_RATE_CARD, "utility", "MA")!;
    expect(serviceRate).toBeGreaterThan(0);
    expect(text).toMatchObject({ status: 202, body: { kind: "text", cost: serviceRate } });

    for (const id of [ma.body.messageId, fr.body.messageId, text.body.messageId]) {
      await eventually(async () => ((await rig.message(c, id)).costSource === "meta" ? true : null), 20_000);
    }
    const all = Math.round((0.4 + frRate + serviceRate) * 100) / 100;
    const total = await costs(c.jwt);
    expect(total.estimated).toMatchObject({ total: all, count: 3 });
    expect(total.billed).toMatchObject({ total: all, count: 3, billable: 3, free: 0 });
    expect(total.billed.byCategory.service).toEqual({ count: 1, cost: serviceRate });
    expect(total.billed.byCategory.marketing).toEqual({ count: 1, cost: frRate });
    expect(total.unpriced).toEqual({ count: 0, estimated: 0 });
    expect(total.total).toBe(total.billed.total);
  });

  it("a template Meta reports as free (free_customer_service) is billed 0 though estimated at its rate", async () => {
    const c = await rig.client();
    const res = await rig.send(c.jwt, {
      candidatePhone: "212611000021",
      candidateName: "Karim",
      jobTitle: "Chauffeur",
    });
    const sent = await rig.until(c, res.body.messageId, ["sent", "delivered", "read"]);
    await eventually(
      async () => ((await rig.message(c, res.body.messageId)).costSource === "meta" ? true : null),
      20_000,
    );
    const delivered = await request(`${rig.trunk.sim.url}/_sim/webhooks/status`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        phoneNumberId: c.phoneNumberId,
        wabaId: c.wabaId,
        wamid: sent.wamid,
        status: "read",
        recipientId: "212611000021",
        pricing: { category: "utility", type: "free_customer_service", billable: false },
      }),
    });
    expect(delivered.statusCode).toBe(200);
    await rig.trunk.drain();
    await eventually(async () => ((await rig.message(c, res.body.messageId)).cost === 0 ? true : null), 20_000);
    const total = await costs(c.jwt);
    expect(total.estimated.total).toBe(0.4);
    expect(total.billed).toMatchObject({ total: 0, free: 1, billable: 0 });
  });
});
