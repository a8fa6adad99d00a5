import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface GatewayMetricsOptions {
  /** Value of the `service` label on every series (ingress, inbound-worker…). */
  service: string;
  /** Node.js process metrics (heap, event-loop lag, GC). Default true. */
  processMetrics?: boolean;
}

/** Outcomes of a POST /webhook, from the status the ingress answered. */
export type WebhookOutcome = "accepted" | "bad_signature" | "malformed" | "too_large" | "store_unavailable" | "other";
/** What a job's attempt ended as: done, failed but will retry, failed for good. */
export type JobOutcome = "completed" | "retried" | "failed";
export type QueueState =
  "waiting" | "active" | "delayed" | "prioritized" | "waiting-children" | "paused" | "failed" | "completed";

/**
 * Every Prometheus series of the gateway, on a registry of its own (several apps in one test process
 * do not collide). Counters and histograms are synchronous and allocation-free per call, so the
 * webhook ack path pays nanoseconds; queue counts are read from Redis only when Prometheus scrapes.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  /** POST /webhook answers by outcome. */
  readonly webhookDeliveries: Counter<"outcome">;
  /** Time from the request's arrival to the end of the answer Meta gets (Meta expects a median ≤ 250 ms). */
  readonly webhookAckSeconds: Histogram<"outcome">;
  /** Jobs per queue and state, read with BullMQ's getJobCounts at scrape time. */
  readonly queueJobs: Gauge<"queue" | "state">;
  /** Jobs not finished yet per queue: waiting + prioritized + delayed + active + waiting-children + paused. */
  readonly queueDepth: Gauge<"queue">;
  /** Processing time of one attempt of a job (from taken to done), by queue and outcome. */
  readonly jobDurationSeconds: Histogram<"queue" | "outcome">;
  /** Attempts by queue and outcome (completed / retried / failed for good). */
  readonly jobs: Counter<"queue" | "outcome">;
  /** Graph API calls by endpoint (ids replaced by {id}), method and result code ("ok", Meta's error code, "timeout"…). */
  readonly metaCalls: Counter<"endpoint" | "method" | "code">;
  readonly metaCallSeconds: Histogram<"endpoint" | "method">;
  /** Messages Meta accepted, by kind (template or text). */
  readonly sends: Counter<"kind">;
  /** Texts refused by Meta (131047, outside the window) replaced by one template message. */
  readonly templateFallbacks: Counter;
  /** Sends held because the tenant must reconnect WhatsApp (or is not active), by tenant. */
  readonly heldSends: Counter<"client_id">;
  /** Webhook deliveries that became dead letters (`deterministic` or `retries_exhausted`). */
  readonly inboundDeadLetters: Counter<"reason">;
  /** Documents, files and records deleted by the retention purge, by collection. */
  readonly purged: Counter<"collection">;
  /** Documents, files, jobs and keys deleted by candidates' erasures, by collection. */
  readonly erased: Counter<"collection">;

  constructor(options: GatewayMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service: options.service });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "lj_" });
    this.webhookDeliveries = new Counter({
      name: "lj_webhook_deliveries_total",
      help: "POST /webhook answers by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.webhookAckSeconds = new Histogram({
      name: "lj_webhook_ack_seconds",
      help: "Time to answer Meta's webhook POST, seconds",
      labelNames: ["outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.queueJobs = new Gauge({
      name: "lj_queue_jobs",
      help: "Jobs per queue and state (BullMQ getJobCounts at scrape time)",
      labelNames: ["queue", "state"],
      registers,
    });
    this.queueDepth = new Gauge({
      name: "lj_queue_depth",
      help: "Unfinished jobs per queue (waiting, prioritized, delayed, active, waiting-children, paused)",
      labelNames: ["queue"],
      registers,
    });
    this.jobDurationSeconds = new Histogram({
      name: "lj_job_duration_seconds",
      help: "Processing time of one job attempt, seconds",
      labelNames: ["queue", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.jobs = new Counter({
      name: "lj_jobs_total",
      help: "Job attempts by queue and outcome",
      labelNames: ["queue", "outcome"],
      registers,
    });
    this.metaCalls = new Counter({
      name: "lj_meta_calls_total",
      help: "Graph API calls by endpoint, method and result code",
      labelNames: ["endpoint", "method", "code"],
      registers,
    });
    this.metaCallSeconds = new Histogram({
      name: "lj_meta_call_duration_seconds",
      help: "Graph API call time, seconds",
      labelNames: ["endpoint", "method"],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    });
    this.sends = new Counter({
      name: "lj_outbound_sends_total",
      help: "Messages accepted by Meta, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.templateFallbacks = new Counter({
      name: "lj_outbound_template_fallbacks_total",
      help: "Texts replaced by a template after Meta's 131047",
      registers,
    });
    this.inboundDeadLetters = new Counter({
      name: "lj_inbound_dead_letters_total",
      help: "Webhook deliveries recorded as dead letters, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.purged = new Counter({
      name: "lj_purged_total",
      help: "Records deleted by the retention purge, by collection",
      labelNames: ["collection"],
      registers,
    });
    this.erased = new Counter({
      name: "lj_erased_total",
      help: "Records deleted by candidates' erasures, by collection",
      labelNames: ["collection"],
      registers,
    });
    this.heldSends = new Counter({
      name: "lj_outbound_held_sends_total",
      help: "Sends held until the tenant reconnects, by tenant",
      labelNames: ["client_id"],
      registers,
    });
  }

  /** Records one POST /webhook answer (called after the answer is sent: never on the ack's critical path). */
  webhookAnswered(statusCode: number, elapsedMs: number): void {
    const outcome = webhookOutcome(statusCode);
    this.webhookDeliveries.inc({ outcome });
    this.webhookAckSeconds.observe({ outcome }, elapsedMs / 1000);
  }

  /** A message Meta accepted. */
  sent(kind: "template" | "text"): void {
    this.sends.inc({ kind });
  }

  /** One template fallback created for a text Meta refused with 131047. */
  templateFallback(): void {
    this.templateFallbacks.inc();
  }

  /** One send held for a tenant that must reconnect (or is not active). */
  held(clientId: string): void {
    this.heldSends.inc({ client_id: clientId });
  }

  /**
   * Reads a send job's result (the outbound worker's SendOutcome) into the send counters:
   * `{ outcome: "sent", kind }`, `{ outcome: "held" }`, `{ outcome: "fallback" }`; others are ignored.
   */
  sendOutcome(clientId: string, result: unknown): void {
    const r = result as { outcome?: unknown; kind?: unknown } | null | undefined;
    if (r?.outcome === "sent" && (r.kind === "template" || r.kind === "text")) this.sent(r.kind);
    else if (r?.outcome === "held") this.held(clientId);
    else if (r?.outcome === "fallback") this.templateFallback();
  }

  /** The exposition text for Prometheus. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export function webhookOutcome(statusCode: number): WebhookOutcome {
  switch (statusCode) {
    case 200:
      return "accepted";
    case 401:
      return "bad_signature";
    case 400:
      return "malformed";
    case 413:
      return "too_large";
    case 503:
      return "store_unavailable";
    default:
      return "other";
  }
}
