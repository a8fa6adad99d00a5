/**
 * The chaos command: `pnpm --filter @linkojob/e2e chaos [--messages 1000] [--workers 2]
 * [--scenario none,worker-kill,redis-restart,mongo-restart,send-storm] [--outage-ms 10000] [--tenants 2]
 * [--candidates 50] [--redeliver 0.2] [--posters 30] [--storm-rate 0.3] [--lose-answer 0.01]
 * [--grace-ms 10000] [--concurrency 32] [--pg-max-connections 0] [--drain-timeout-ms 600000]
 * [--stall-ms 180000] [--progress-ms 10000]` (storm-rate, lose-answer and
 * grace-ms for send-storm, whose --messages are sends through the REST API; concurrency: jobs per
 * worker process; pg-max-connections: the run's FerretDB pool, for two runs at once; stall-ms: a run
 * that stores and completes nothing this long fails at once with the queues' state; progress-ms: how
 * often a run prints where it stands). Each scenario runs on a stack of its own
 * (see src/chaos/chaos.harness.ts) and prints one JSON line; the command exits 1 when any check
 * failed. Figures: drain time and messages/s, with the ratio to the `none` baseline when it ran.
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_CHAOS,
  SCENARIOS,
  runScenario,
  type Scenario,
  type ScenarioResult,
} from "../src/chaos/chaos.harness.js";

const { values } = parseArgs({
  options: {
    messages: { type: "string" },
    workers: { type: "string" },
    scenario: { type: "string" },
    "outage-ms": { type: "string" },
    tenants: { type: "string" },
    candidates: { type: "string" },
    redeliver: { type: "string" },
    posters: { type: "string" },
    "storm-rate": { type: "string" },
    "lose-answer": { type: "string" },
    "grace-ms": { type: "string" },
    concurrency: { type: "string" },
    "pg-max-connections": { type: "string" },
    "drain-timeout-ms": { type: "string" },
    "stall-ms": { type: "string" },
    "progress-ms": { type: "string" },
  },
});
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
const scenarios = (values.scenario?.split(",") ?? [...SCENARIOS]) as Scenario[];
for (const s of scenarios)
  if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}: ${SCENARIOS.join(", ")}`);

const results: ScenarioResult[] = [];
for (const scenario of scenarios) {
  results.push(
    await runScenario(scenario, {
      messages: num(values.messages, DEFAULT_CHAOS.messages),
      workers: num(values.workers, DEFAULT_CHAOS.workers),
      outageMs: num(values["outage-ms"], DEFAULT_CHAOS.outageMs),
      tenants: num(values.tenants, DEFAULT_CHAOS.tenants),
      candidates: num(values.candidates, DEFAULT_CHAOS.candidates),
      redeliver: num(values.redeliver, DEFAULT_CHAOS.redeliver),
      posters: num(values.posters, DEFAULT_CHAOS.posters),
      stormRate: num(values["storm-rate"], DEFAULT_CHAOS.stormRate),
      loseAnswerRate: num(values["lose-answer"], DEFAULT_CHAOS.loseAnswerRate),
      uncertainGraceMs: num(values["grace-ms"], DEFAULT_CHAOS.uncertainGraceMs),
      concurrency: num(values.concurrency, DEFAULT_CHAOS.concurrency),
      pgMaxConnections: num(values["pg-max-connections"], DEFAULT_CHAOS.pgMaxConnections),
      drainTimeoutMs: num(values["drain-timeout-ms"], DEFAULT_CHAOS.drainTimeoutMs),
      stallMs: num(values["stall-ms"], DEFAULT_CHAOS.stallMs),
      progressMs: num(values["progress-ms"], DEFAULT_CHAOS.progressMs),
      log: (line) => console.log(line),
    }),
  );
}
const baseline = results.find((r) => r.scenario === "none");
console.log("\nscenario        workers messages drain_s  msg/s  vs_none  refused  result");
for (const r of results) {
  const ratio = baseline?.messagesPerSecond ? (r.messagesPerSecond / baseline.messagesPerSecond).toFixed(2) : "-";
  console.log(
    `${r.scenario.padEnd(15)} ${String(r.workers).padStart(7)} ${String(r.messages).padStart(8)} ${(r.drainMs / 1000).toFixed(1).padStart(7)} ${String(r.messagesPerSecond).padStart(6)} ${ratio.padStart(8)} ${String(r.refusedPosts).padStart(8)}  ${r.problems.length ? r.problems.join("; ") : "ok"}`,
  );
}
process.exit(results.every((r) => !r.problems.length) ? 0 : 1);
