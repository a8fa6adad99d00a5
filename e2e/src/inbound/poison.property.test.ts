import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientDoc } from "@linkojob/db";
import { boundedJson, normalizeDelivery } from "@linkojob/whatsapp";
import { mutatedDelivery, type Case } from "@linkojob/whatsapp/testing";
import { PHONE_NUMBER_ID, WABA, freshWamid } from "@linkojob/whatsapp/testing/fixtures";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";
import { postSigned } from "../harness/signed-post.harness.js";

// Poison-proofing proven on the real pipeline: signed deliveries, each one real-shaped element mutated at
// random (wrong types, nulls, missing and extra fields, prototype-named keys and types, $ / . / NUL
// keys, deep nesting, huge and non-finite numbers, unicode edge cases) next to a valid sibling
// message, through ingress → Redis stream → pump → BullMQ → worker → FerretDB. Properties: every
// sibling stored exactly once; every part the normaliser could not read recorded in webhook_events
// (or the delivery is a dead letter); the worker never errors out; no job attempted more than twice.

const RUNS = 10;
const PER_RUN = 10;

let t: Trunk;
let client: ClientDoc;
const workerErrors: Error[] = [];

beforeAll(async () => {
  t = await startTrunk({ label: "property" });
  // The fixtures' business: every generated delivery routes to this client.
  client = await t.createClient({ phoneNumberId: PHONE_NUMBER_ID, wabaId: WABA });
  t.worker.bullWorker!.on("error", (err) => workerErrors.push(err));
});
afterAll(async () => t?.close());

/** Follows `$.entry[0].changes[1].value.messages[0]` to the element. */
function at(payload: unknown, path: string): Record<string, unknown> {
  let node = payload as Record<string, unknown>;
  for (const [, key, index] of path.slice(1).matchAll(/\.([A-Za-z_]+)|\[(\d+)\]/g)) {
    node = (key !== undefined ? node[key] : (node as unknown as unknown[])[Number(index)]) as Record<string, unknown>;
  }
  return node;
}

/** The case's payload with a sibling wamid of its own (the arbitraries share one). */
function withOwnSibling(c: Case): { payload: unknown; sibling: string } {
  const sibling = freshWamid("SIB");
  at(c.payload, c.siblingPath).id = sibling;
  return { payload: c.payload, sibling };
}

describe("poison-proof inbound (property)", () => {
  it(`${RUNS} rounds of ${PER_RUN} mutated deliveries: siblings stored once, bad parts recorded, bounded attempts`, async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutatedDelivery, { minLength: PER_RUN, maxLength: PER_RUN }), async (cases) => {
        round++;
        const sent = cases.map((c) => ({ ...withOwnSibling(c), level: c.level, mutation: c.mutation }));
        const answers = await Promise.all(sent.map((s) => postSigned(t.ingressUrl, s.payload)));
        for (const a of answers) expect(a.status, a.body).toBe(200);
        await t.drain(30_000);

        const deadLetters = await t.db.webhookEvents
          .find({ kind: "dead_letter" }, { deliveryId: 1, problem: 1 })
          .lean();
        for (const s of sent) {
          const what = `round ${round}, ${s.level} ${JSON.stringify(boundedJson(s.mutation, 300).text)}`;
          // Every valid sibling exactly once.
          expect(await t.db.messages.countDocuments({ clientId: client._id, wamid: s.sibling }), what).toBe(1);
          // Every part the normaliser cannot read is recorded (webhook_events dedupes equal content).
          const events = normalizeDelivery(JSON.parse(boundedJson(s.payload, 3 * 1024 * 1024).text));
          for (const e of events) {
            if (e.kind === "malformed") {
              const found = await t.db.webhookEvents.countDocuments({
                kind: "malformed",
                field: e.field,
                problem: e.reason,
                "location.path": e.location?.path,
              });
              expect(found, `${what}: malformed ${e.location?.path} ${e.reason}`).toBeGreaterThan(0);
            } else if (e.kind === "message" && (e.phoneNumberId !== PHONE_NUMBER_ID || e.wabaId !== WABA)) {
              // A mutation can rename the number (metadata.phone_number_id) or the WABA (entry.id): no
              // client has that pair, so the message is recorded as unrouted, not stored under this client.
              const unrouted = await t.db.webhookEvents.countDocuments({
                kind: "unrouted",
                phoneNumberId: e.phoneNumberId,
                wabaId: e.wabaId,
              });
              expect(unrouted, `${what}: unrouted ${e.message.wamid} for ${e.phoneNumberId}`).toBeGreaterThan(0);
              expect(
                await t.db.messages.countDocuments({ wamid: e.message.wamid }),
                `${what}: ${e.message.wamid} stored`,
              ).toBe(0);
            } else if (e.kind === "message") {
              expect(
                await t.db.messages.countDocuments({ clientId: client._id, wamid: e.message.wamid }),
                `${what}: ${e.message.wamid}`,
              ).toBe(1);
            } else if (e.kind === "account") {
              expect(
                await t.db.webhookEvents.countDocuments({ kind: "account", field: e.field }),
                `${what}: account ${e.field}`,
              ).toBeGreaterThan(0);
            }
          }
        }
        // Nothing failed for good here: a dead letter would mean a delivery the pipeline could not store.
        expect(deadLetters, JSON.stringify(deadLetters)).toEqual([]);
      }),
      {
        numRuns: RUNS,
        endOnFailure: true,
        // The failing assertion names the delivery; printing the counterexample would overflow the stack on 20,000-deep values.
        reporter: (run) => {
          if (run.failed)
            throw run.errorInstance instanceof Error
              ? run.errorInstance
              : new Error(`property failed: seed ${run.seed}`);
        },
      },
    );

    // No job retried more than once, none failed, and the worker never errored out.
    const jobs = [...(await t.worker.queue.getCompleted(0, 10_000)), ...(await t.worker.queue.getFailed(0, 10_000))];
    expect(jobs.length).toBe(RUNS * PER_RUN);
    for (const job of jobs) expect(job.attemptsMade, `${job.id}: ${job.failedReason}`).toBeLessThanOrEqual(2);
    expect(await t.worker.queue.getJobCounts("failed", "delayed")).toEqual({ failed: 0, delayed: 0 });
    expect(workerErrors).toEqual([]);
    expect(t.worker.bullWorker!.isRunning()).toBe(true);
  }, 120_000);
});
