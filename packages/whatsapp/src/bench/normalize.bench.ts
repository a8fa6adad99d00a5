/**
 * Cost of normalizeDelivery relative to JSON.parse of the same body (which the worker does first
 * anyway), measured in the same run: `pnpm exec tsx packages/whatsapp/src/bench/normalize.bench.ts`.
 * Prints µs per call and the ratio for a one-message delivery, a batch, and a hostile delivery.
 */
import { normalizeDelivery } from "../normalize.js";
import {
  change,
  contact,
  delivery,
  deliveryOf,
  entry,
  message,
  messagesValue,
  samples,
  statusSamples,
  withOwnKeys,
} from "../webhook-fixtures.harness.js";

const bodies: Record<string, string> = {
  "one text message": JSON.stringify(deliveryOf([samples.text()])),
  "batch: 8 messages of every kind + 4 statuses": JSON.stringify(
    delivery([
      entry([
        change(
          messagesValue({
            contacts: [contact()],
            messages: [
              samples.text(),
              samples.image(),
              samples.document(),
              samples.button_reply(),
              samples.location(),
              samples.reaction(),
              samples.contacts(),
              samples.referral(),
            ],
          }),
        ),
        change(
          messagesValue({
            statuses: [statusSamples.sent(), statusSamples.delivered(), statusSamples.read(), statusSamples.failed()],
          }),
        ),
      ]),
    ]),
  ),
  "hostile: $/./NUL keys, 5,000-deep nesting, prototype type": (() => {
    const deep = "[".repeat(5000) + "]".repeat(5000);
    const poison = message(
      "text",
      withOwnKeys([
        ["body", "x"],
        ["$where", 1],
        ["a.b", { "k\u0000": -1 }],
      ]),
    );
    const proto: unknown = JSON.parse(
      JSON.stringify(message("text", { body: "p" })).replace(
        '"type":"text","text"',
        '"type":"constructor","constructor"',
      ),
    );
    return JSON.stringify(deliveryOf([poison, proto, samples.text()])).replace('"messages":[', `"messages":[${deep},`);
  })(),
};

function timeUs(fn: () => void, iterations: number): number {
  for (let i = 0; i < Math.min(200, iterations); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

for (const [name, body] of Object.entries(bodies)) {
  const iterations = 3000;
  const parsed: unknown = JSON.parse(body);
  const parseUs = timeUs(() => JSON.parse(body) as unknown, iterations);
  const normalizeUs = timeUs(() => normalizeDelivery(parsed), iterations);
  const events = normalizeDelivery(parsed)
    .map((e) => e.kind)
    .join(",");
  console.log(`${name} (${body.length} bytes; events: ${events})`);
  console.log(
    `  JSON.parse ${parseUs.toFixed(1)} µs, normalizeDelivery ${normalizeUs.toFixed(1)} µs, ratio ${(normalizeUs / parseUs).toFixed(2)}`,
  );
}
