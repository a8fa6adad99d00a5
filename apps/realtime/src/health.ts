import type { IncomingMessage, ServerResponse } from "node:http";

/** A dependency check for /ready: resolves true when the dependency answers. */
export type ReadinessCheck = () => Promise<boolean>;

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

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
};

/**
 * The HTTP routes besides socket.io's own (/socket.io/ is answered by socket.io before this runs):
 * `GET /health` says the process is alive; `GET /ready` says whether every dependency answers
 * (each check bounded by `timeoutMs`), 503 otherwise, so a load balancer stops sending new sockets.
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>, timeoutMs: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/health" && path !== "/ready") {
      return sendJson(res, 404, { error: { code: "NOT_FOUND", message: `no route ${req.method} ${path}` } });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} is not allowed` } });
    }
    if (path === "/health") return sendJson(res, 200, { status: "ok" });
    const names = Object.keys(checks);
    void Promise.all(names.map((name) => withinTimeout(checks[name]!, timeoutMs))).then((results) => {
      const state = Object.fromEntries(names.map((name, i) => [name, results[i]]));
      const ready = results.every(Boolean);
      sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready", checks: state });
    });
  };
}
