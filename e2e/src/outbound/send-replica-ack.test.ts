import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import type { ClientDoc } from "@linkojob/db";
import { textMessageDelivery } from "@linkojob/meta-simulator";
import { createRedis, ingressStreamKey, sendStreamKey, type RedisClient } from "@linkojob/queues";
import { eventually, startRedisSentinelSet, tokenFor, type OwnSentinelSet } from "@linkojob/testing";
import { startTrunk, type Trunk } from "../harness/trunk.harness.js";
import { postSigned } from "../harness/signed-post.harness.js";

/**
 * Behind Sentinel the ingress acknowledges a send (202), as a webhook (200), only once the replica
 * has its copy (`WAIT`): Redis replicates asynchronously, so a primary that dies right after answering
 * would otherwise take an acknowledged send with it when its replica is promoted. A replica that does
 * not confirm in time (frozen here with SIGSTOP: the primary still counts it connected) turns the
 * answer into a 503 that says what happened; the send is on the primary, so the same Idempotency-Key
 * answers it once the replica is back, never a second send.
 */
describe("sends and webhooks acknowledged once the replica has them", () => {
  let set: OwnSentinelSet;
  let t: Trunk;
  let primary: RedisClient;
  let replica: RedisClient;
  let client: ClientDoc;
  let jwt: string;

  beforeAll(async () => {
    set = await startRedisSentinelSet({ sentinels: 0 });
    t = await startTrunk({
      label: "send-replica-ack",
      redisUrl: `redis://127.0.0.1:${set.primaryPort}`,
      startWorker: false,
      ingress: { replicaAck: { replicas: 1, timeoutMs: 300 } },
    });
    primary = createRedis(`redis://127.0.0.1:${set.primaryPort}`);
    replica = createRedis(`redis://127.0.0.1:${set.replicaPort}`);
    client = await t.createClient();
    jwt = await tokenFor(client.userId, "recruiter");
    sends = sendStreamKey(t.services.prefix);
    webhooks = ingressStreamKey(t.services.prefix);
  }, 120_000);

  afterAll(async () => {
    set?.resumeReplica();
    await t?.close();
    primary?.disconnect();
    replica?.disconnect();
    await set?.destroy();
  });

  const send = async (candidatePhone: string, idempotencyKey?: string) => {
    const res = await request(`${t.ingressUrl}/api/messages/send`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${jwt}`,
        "content-type": "application/json",
        ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
      },
      body: JSON.stringify({
        clientId: client._id.toHexString(),
        candidatePhone,
        candidateName: "Salma",
        jobTitle: "Soudeuse",
      }),
    });
    return {
      status: res.statusCode,
      body: (await res.body.json()) as {
        messageId?: string;
        error?: { code: string; message: string; details?: { messageId?: string } };
      },
    };
  };
  const webhook = (i: number) =>
    postSigned(
      t.ingressUrl,
      textMessageDelivery(
        { wabaId: client.wabaId, phoneNumberId: client.phoneNumberId },
        { waId: `21266100${String(i).padStart(4, "0")}`, name: "Candidat" },
        `bonjour ${i}`,
      ),
    );
  let sends: string;
  let webhooks: string;

  it("answers 202 and 200 with the replica up, and the replica holds what was acknowledged", async () => {
    const accepted = await send("212600300001");
    expect(accepted.status).toBe(202);
    expect((await webhook(1)).status).toBe(200);
    // WAIT returned: the replica had both entries when the answers left.
    expect(await replica.xlen(sends)).toBe(await primary.xlen(sends));
    expect(await replica.xlen(webhooks)).toBe(await primary.xlen(webhooks));
    expect(await replica.xlen(sends)).toBeGreaterThanOrEqual(1);
  });

  it("with the replica frozen: 503 NOT_REPLICATED naming the send, 503 to the webhook; the key answers the same send afterwards", async () => {
    const onPrimary = await primary.xlen(sends);
    set.pauseReplica();
    let unconfirmed: Awaited<ReturnType<typeof send>>;
    try {
      unconfirmed = await send("212600300002", "replica-ack-key-1");
      expect((await webhook(2)).status).toBe(503);
    } finally {
      set.resumeReplica();
    }
    expect(unconfirmed.status).toBe(503);
    expect(unconfirmed.body.error?.code).toBe("NOT_REPLICATED");
    expect(unconfirmed.body.error?.message).toMatch(/Idempotency-Key/);
    const messageId = unconfirmed.body.error?.details?.messageId;
    expect(messageId).toMatch(/^[0-9a-f]{24}$/);
    // The send is on the primary (it goes if the primary lives)...
    expect(await primary.xlen(sends)).toBe(onPrimary + 1);
    // ...and, the replica back and caught up, the same key answers that very send: one send, not two.
    await eventually(async () => (await replica.xlen(sends)) === (await primary.xlen(sends)), 10_000);
    const again = await send("212600300002", "replica-ack-key-1");
    expect(again.status).toBe(202);
    expect(again.body.messageId).toBe(messageId);
    expect(await primary.xlen(sends)).toBe(onPrimary + 1);
    // A new send is acknowledged again once the replica confirms.
    expect((await send("212600300003")).status).toBe(202);
    expect((await webhook(3)).status).toBe(200);
  }, 30_000);
});
