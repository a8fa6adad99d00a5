/**
 * The outbound worker's readiness tells the truth: it runs as its own process (its main.ts), with
 * MongoDB behind a relay the test cuts. A storm of transient Meta errors is not the worker's fault
 * (`work` stays true: an orchestrator must not restart it for Meta's trouble); its own database calls
 * failing for READY_FAILING_FOR_MS turn `work` false; the database back, the sends complete, the
 * worker is ready again by itself and every send reached Meta once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { describeOutput, eventually, startTcpOutage, TEST_SECRETS, type TcpOutage } from "@linkojob/testing";
import { startOutbound, type OutboundRig, type SendAnswer } from "../harness/outbound.harness.js";
import {
  WORKER_MAINS,
  killAll,
  startWorkerProcess,
  terminate,
  type WorkerProcess,
} from "../stack/multi-process.harness.js";

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

interface Readiness {
  http: number;
  checks: Record<string, boolean>;
}

describe("the outbound worker's /ready", () => {
  let rig: OutboundRig;
  let outage: TcpOutage;
  let worker: WorkerProcess;

  it(
    "stays ready through a Meta error storm, turns not ready (work) while its database calls fail, and ready again after",
    { timeout: 240_000 },
    async () => {
      rig = await startOutbound("outbound-ready");
      closers.push(() => rig.close());
      const c = await rig.client();
      // The process replaces the rig's in-process outbound worker.
      await rig.outbound.close();
      const mongo = new URL(rig.trunk.services.mongoUrl);
      outage = await startTcpOutage({ host: mongo.hostname, port: Number(mongo.port) });
      closers.push(() => outage.close());
      mongo.host = `${outage.host}:${outage.port}`;
      worker = await startWorkerProcess("outbound", WORKER_MAINS.outbound, {
        MONGODB_URI: mongo.toString(),
        REDIS_URL: rig.trunk.services.redisUrl,
        QUEUE_PREFIX: rig.trunk.services.prefix,
        LOG_LEVEL: "warn",
        TOKEN_ENCRYPTION_KEY: TEST_SECRETS.tokenKey,
        META_GRAPH_URL: rig.trunk.sim.url,
        OUTBOUND_RETRY_BASE_MS: "100",
        OUTBOUND_RECIPIENT_INTERVAL_MS: "1100",
        OUTBOUND_RECIPIENT_BURST: "2",
        TEMPLATE_SYNC_INTERVAL_MS: "0",
        READY_FAILING_FOR_MS: "1000",
      });
      closers.push(() => killAll([worker]));
      const ready = async (): Promise<Readiness> => {
        const res = await fetch(`http://127.0.0.1:${worker.port}/ready`);
        return { http: res.status, checks: ((await res.json()) as { checks: Record<string, boolean> }).checks };
      };
      const sent: SendAnswer[] = [];
      const send = async (n: number) => {
        const res = await rig.send(c.jwt, {
          clientId: c._id.toHexString(),
          candidatePhone: `2126003${String(n).padStart(5, "0")}`,
          candidateName: "Yasmine",
          jobTitle: "Comptable",
        });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        sent.push(res.body);
      };

      // Meta refuses every send with transient errors: many attempts fail, none through the worker.
      rig.sim.faults.storm = { rate: 1, codes: [131016, 130429] };
      for (let n = 0; n < 6; n++) await send(n);
      const stormStart = Date.now();
      await eventually(
        () => rig.sim.rejected.filter((r) => r.cause === "storm").length >= 15 && Date.now() - stormStart > 2_000,
        60_000,
      );
      const duringStorm = await ready();
      expect(duringStorm, describeOutput(worker)).toEqual({
        http: 200,
        checks: { redis: true, mongo: true, work: true },
      });
      expect(rig.sim.accepted.filter((m) => sent.some((s) => s.messageId === m.bizOpaque))).toHaveLength(0);

      // Meta is fine again, the worker's database is not: its attempts fail on MongoDB.
      await outage.stop();
      rig.sim.faults.storm = null;
      for (let n = 6; n < 12; n++) await send(n);
      let last: Readiness | null = null;
      await eventually(async () => {
        last = await ready();
        return !last.checks.work;
      }, 90_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(last)}\n${describeOutput(worker)}`);
      });
      expect(last!.http).toBe(503);

      // The database back: the sends complete and the worker says so without a restart.
      await outage.start();
      for (const s of sent) await rig.until(c, s.messageId, ["sent", "delivered", "read"], 120_000);
      const after = await eventually(async () => {
        const r = await ready();
        return r.http === 200 ? r : null;
      }, 30_000);
      expect(after.checks).toEqual({ redis: true, mongo: true, work: true });
      for (const s of sent) expect(rig.acceptedFor(s.messageId)).toHaveLength(1);
      expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    },
  );
});
