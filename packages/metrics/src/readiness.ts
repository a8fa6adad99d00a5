import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * How long one dependency check of `/ready` may take before it counts as down: one policy for every
 * process (ingress, realtime, workers), short enough that a load balancer's probe gets its answer.
 */
export const READINESS_TIMEOUT_MS = 2_000;

/** A dependency check for `/ready`: resolves true when the dependency answers. */
export type ReadinessCheck = () => Promise<boolean>;

/** Named readiness checks; `/ready` reports each by name. */
export type ReadinessChecks = Record<string, ReadinessCheck>;

/** The body of `/health`: the process is alive (it checks no dependency). */
export const HEALTH_BODY = { status: "ok" } as const;

export interface ReadinessAnswer {
  statusCode: 200 | 503;
  body: { status: "ready" | "not_ready"; checks: Record<string, boolean> };
}

/** Resolves false when `check` rejects or has not answered within `timeoutMs`. */
export async function withinTimeout(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check at once, each bounded by `timeoutMs`: 200 when all pass, else 503 naming which failed. */
export async function readiness(checks: ReadinessChecks, timeoutMs = READINESS_TIMEOUT_MS): Promise<ReadinessAnswer> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => withinTimeout(checks[name]!, timeoutMs)));
  const ready = results.every(Boolean);
  return {
    statusCode: ready ? 200 : 503,
    body: {
      status: ready ? "ready" : "not_ready",
      checks: Object.fromEntries(names.map((name, i) => [name, results[i]!])),
    },
  };
}

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
};

export interface HealthHandlerOptions {
  timeoutMs?: number;
  /** Further GET routes of the same listener (such as `/metrics`), by path. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
}

/**
 * A node:http handler for processes without a web framework: `GET /health` (alive), `GET /ready`
 * (every check passes, else 503 with which failed), the extra `routes`, 404 for any other path and
 * 405 for any other method.
 */
export function healthHandler(checks: ReadinessChecks, options: HealthHandlerOptions = {}) {
  const routes = options.routes ?? {};
  const known = ["/health", "/ready", ...Object.keys(routes)];
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (!known.includes(path)) {
      return sendJson(res, 404, {
        error: { code: "NOT_FOUND", message: `no route ${req.method} ${path}; only ${known.join(", ")}` },
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} is not allowed` } });
    }
    if (path === "/health") return sendJson(res, 200, HEALTH_BODY);
    if (path === "/ready") {
      void readiness(checks, options.timeoutMs).then(({ statusCode, body }) => sendJson(res, statusCode, body));
      return;
    }
    void routes[path]!(req, res);
  };
}
