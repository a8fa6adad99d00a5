import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetaSimulator } from "../simulator.js";
import { startRecordingReceiver, type RecordingReceiver } from "../webhooks/recording-receiver.js";
import { MAX_USERS_PER_REQUEST } from "./block-users.routes.js";

/** Meta's Block Users API in the simulator, over real HTTP: its per-user results, its limits and its errors. */

const business = { phoneNumberId: "555000333", wabaId: "100200500" };
const auth = { authorization: "Bearer sim-block-token" };
let sim: MetaSimulator;
let receiver: RecordingReceiver;
let seq = 0;
const newPhone = () => `2126${String(20_000_000 + ++seq * 7_919).slice(-8)}`;

beforeAll(async () => {
  receiver = await startRecordingReceiver();
  sim = await MetaSimulator.create({ appSecret: "sim-block-secret", webhookUrl: receiver.url });
  await sim.listen();
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Graph answers of several shapes, read by path
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}
const writes = (fields: Record<string, unknown>) =>
  call("POST", "/_sim/candidates/reply", { ...business, type: "text", text: "Bonjour", ...fields }, {});
const blockBody = (...users: Array<{ user?: string; user_id?: string }>) => ({
  messaging_product: "whatsapp",
  block_users: users,
});
const path = `/v26.0/${business.phoneNumberId}/block_users`;

describe("block users", () => {
  it("blocks by phone and by user id someone who wrote in the last 24 hours; a send to them is refused; unblocking lets it go", async () => {
    const phone = newPhone();
    const userId = "MA.70000000000000000001";
    await writes({ from: phone });
    await writes({ userId, username: "amina" });
    const blocked = await call("POST", path, blockBody({ user: `+${phone}` }, { user_id: userId }));
    expect(blocked).toEqual({
      status: 200,
      json: {
        messaging_product: "whatsapp",
        block_users: {
          added_users: [
            { input: `+${phone}`, wa_id: phone },
            { input: userId, user_id: userId },
          ],
        },
      },
    });
    const listed = await call("GET", path);
    expect(listed.json.data[0].block_users).toEqual(
      expect.arrayContaining([expect.objectContaining({ wa_id: phone }), expect.objectContaining({ user_id: userId })]),
    );

    const send = (to: Record<string, string>) =>
      call("POST", `/v26.0/${business.phoneNumberId}/messages`, {
        messaging_product: "whatsapp",
        ...to,
        type: "text",
        text: { body: "Bonjour" },
      });
    expect((await send({ to: phone })).json.error).toMatchObject({ code: 131026 });
    expect((await send({ recipient: userId })).json.error).toMatchObject({ code: 131026 });

    expect((await call("DELETE", path, blockBody({ user: phone }))).json).toEqual({
      messaging_product: "whatsapp",
      block_users: { removed_users: [{ input: phone, wa_id: phone }] },
    });
    expect((await send({ to: phone })).json.messages[0].id).toMatch(/^wamid\./);
  });

  it("someone who has not written in the last 24 hours cannot be blocked: a per-user failure with 139100, the others still blocked", async () => {
    const [wrote, silent] = [newPhone(), newPhone()];
    await writes({ from: wrote });
    const res = await call("POST", path, blockBody({ user: wrote }, { user: silent }));
    expect(res.status).toBe(200);
    expect(res.json.block_users.added_users).toEqual([{ input: wrote, wa_id: wrote }]);
    expect(res.json.block_users.failed_users).toEqual([
      { input: silent, errors: [expect.objectContaining({ code: 139100 })] },
    ]);
    expect(res.json.errors).toMatchObject({ code: 139100 });
  });

  it("refuses more than 1,000 users in one request, a body without users, and a call without a token", async () => {
    const many = Array.from({ length: MAX_USERS_PER_REQUEST + 1 }, (_, i) => ({
      user: `2126${String(i).padStart(8, "0")}`,
    }));
    expect((await call("POST", path, blockBody(...many))).json.error).toMatchObject({ code: 100 });
    expect((await call("POST", path, { messaging_product: "whatsapp", block_users: [] })).json.error).toMatchObject({
      code: 100,
    });
    expect((await call("POST", path, blockBody({ user: newPhone() }), {})).status).toBe(401);
  });

  it("answers 139101 once the number's blocklist is full", async () => {
    await call("PUT", "/_sim/blocking/limit", { limit: 1 }, {});
    const [a, b] = [newPhone(), newPhone()];
    await writes({ from: a });
    await writes({ from: b });
    const other = `/v26.0/555000999/block_users`;
    await call(
      "POST",
      "/_sim/candidates/reply",
      { phoneNumberId: "555000999", wabaId: "1", from: a, type: "text", text: "x" },
      {},
    );
    await call(
      "POST",
      "/_sim/candidates/reply",
      { phoneNumberId: "555000999", wabaId: "1", from: b, type: "text", text: "x" },
      {},
    );
    expect((await call("POST", other, blockBody({ user: a }))).status).toBe(200);
    expect((await call("POST", other, blockBody({ user: b }))).json.error).toMatchObject({ code: 139101 });
  });
});
