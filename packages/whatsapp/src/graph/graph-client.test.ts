import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphClient, graphPath } from "./graph-client.js";
import { GraphApiError, GraphNetworkError, GraphResponseError } from "./graph-errors.js";
import { classifyGraphError } from "./error-policy.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  socket: number;
}

/** A tiny real HTTP server whose answers each test chooses by path. */
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
const sockets = new WeakMap<object, number>();
let socketCount = 0;
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse, body: string) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, ++socketCount);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, socket: sockets.get(req.socket)! });
      const path = req.url!.split("?")[0]!;
      const handler = routes.get(path);
      if (!handler) {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { message: "no route", code: 100 } }));
        return;
      }
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

describe("GraphClient", () => {
  it("calls {base}/{version}/{path} with the bearer token and query, and parses the JSON answer", async () => {
    routes.set("/v26.0/123/phone_numbers", (_req, res) => json(res, 200, { data: [{ id: "1" }] }));
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    try {
      const res = await graph.get<{ data: Array<{ id: string }> }>("123/phone_numbers", {
        token: "tok-abc",
        query: { fields: "id,status", limit: 5, skip: undefined },
      });
      expect(res.data[0]!.id).toBe("1");
      const req = seen.at(-1)!;
      expect(req.headers.authorization).toBe("Bearer tok-abc");
      expect(req.url).toBe("/v26.0/123/phone_numbers?fields=id%2Cstatus&limit=5");
    } finally {
      await graph.close();
    }
  });

  it("an outside id of . or .. never walks the tenant's token out of the versioned path", async () => {
    routes.set("/me", (_req, res) => json(res, 200, { leaked: true }));
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    const before = seen.length;
    try {
      for (const id of ["..", ".", ""])
        await expect(
          (async () => graph.get(graphPath(id, id === ".." ? "me" : "x"), { token: "tok-abc" }))(),
        ).rejects.toThrow(RangeError);
      expect(seen.slice(before)).toEqual([]);
      expect(graphPath("1.2", "media")).toBe("1.2/media");
    } finally {
      await graph.close();
    }
  });

  it("sends JSON and form bodies with their content types", async () => {
    routes.set("/v26.0/echo", (req, res, body) => json(res, 200, { type: req.headers["content-type"], body }));
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    try {
      const a = await graph.post<{ type: string; body: string }>("echo", {
        json: { messaging_product: "whatsapp", pin: "123456" },
      });
      expect(a.type).toBe("application/json");
      expect(JSON.parse(a.body)).toEqual({ messaging_product: "whatsapp", pin: "123456" });
      const b = await graph.post<{ type: string; body: string }>("echo", { form: { a: "1", b: true, c: undefined } });
      expect(b.type).toBe("application/x-www-form-urlencoded");
      expect(b.body).toBe("a=1&b=true");
    } finally {
      await graph.close();
    }
  });

  it("keeps connections alive: sequential calls reuse their sockets", async () => {
    routes.set("/v26.0/ping", (_req, res) => json(res, 200, { ok: true }));
    const graph = new GraphClient({ baseUrl, version: "v26.0", connections: 4 });
    try {
      const before = seen.length;
      for (let i = 0; i < 10; i++) await graph.get("ping");
      // undici may alternate between two pooled sockets; without keep-alive there would be ten.
      const used = new Set(seen.slice(before).map((s) => s.socket));
      expect(used.size).toBeLessThanOrEqual(2);
    } finally {
      await graph.close();
    }
  });

  it("keeps a path prefix of the base URL", async () => {
    routes.set("/graph/v22.0/x", (_req, res) => json(res, 200, { ok: 1 }));
    const graph = new GraphClient({ baseUrl: `${baseUrl}/graph/`, version: "v22.0" });
    try {
      expect(await graph.get("/x")).toEqual({ ok: 1 });
    } finally {
      await graph.close();
    }
  });

  it("parses Meta's error body into a GraphApiError with stable fields, without the token", async () => {
    const token = "EAAG-secret-token-value";
    routes.set("/v26.0/err", (req, res) =>
      json(res, 401, {
        error: {
          // A misbehaving proxy echoing the token must not leak it into our errors.
          message: `Error validating access token: Session has expired (${req.headers.authorization})`,
          type: "OAuthException",
          code: 190,
          error_subcode: 463,
          error_user_title: "Session expired",
          error_data: { details: `token ${token} expired` },
          fbtrace_id: "AbCdEf123",
        },
      }),
    );
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    try {
      const err = await graph.get("err", { token }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GraphApiError);
      const e = err as GraphApiError;
      expect(e.code).toBe(190);
      expect(e.subcode).toBe(463);
      expect(e.type).toBe("OAuthException");
      expect(e.title).toBe("Session expired");
      expect(e.fbtraceId).toBe("AbCdEf123");
      expect(e.httpStatus).toBe(401);
      expect(e.request).toBe("GET err");
      expect(e.details).toContain("expired");
      const everything = JSON.stringify({ ...e.toJSON(), message: e.message, stack: e.stack });
      expect(everything).not.toContain(token);
      expect(classifyGraphError(e)).toMatchObject({ kind: "auth", reauth: true, retryable: false });
    } finally {
      await graph.close();
    }
  });

  it("turns a 5xx without a Graph body into a transient GraphApiError", async () => {
    routes.set("/v26.0/bad-gateway", (_req, res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<html>bad gateway</html>"),
    );
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    try {
      const err = (await graph.get("bad-gateway").catch((e: unknown) => e)) as GraphApiError;
      expect(err).toBeInstanceOf(GraphApiError);
      expect(err.code).toBe(-1);
      expect(err.httpStatus).toBe(502);
      expect(classifyGraphError(err)).toMatchObject({ kind: "transient", retryable: true });
    } finally {
      await graph.close();
    }
  });

  it("refuses a 2xx answer that is not JSON", async () => {
    routes.set("/v26.0/html", (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html></html>"));
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    try {
      await expect(graph.get("html")).rejects.toBeInstanceOf(GraphResponseError);
    } finally {
      await graph.close();
    }
  });

  it("reports a slow answer as a timed-out GraphNetworkError that may have reached Meta", async () => {
    const pending: ServerResponse[] = [];
    routes.set("/v26.0/slow", (_req, res) => void pending.push(res)); // never answers by itself
    const graph = new GraphClient({ baseUrl, version: "v26.0", headersTimeoutMs: 200 });
    try {
      const err = (await graph.get("slow", { token: "tok-slow-123" }).catch((e: unknown) => e)) as GraphNetworkError;
      expect(err).toBeInstanceOf(GraphNetworkError);
      expect(err.timedOut).toBe(true);
      expect(err.mayHaveReachedMeta).toBe(true);
      expect(err.message).not.toContain("tok-slow-123");
      expect(classifyGraphError(err)).toMatchObject({ kind: "transient", retryable: true });
    } finally {
      for (const r of pending) r.destroy();
      await graph.close();
    }
  });

  it("reports a refused connection as a GraphNetworkError that did not reach Meta", async () => {
    // A port that was just free: listen, note it, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const graph = new GraphClient({ baseUrl: `http://127.0.0.1:${port}`, version: "v26.0" });
    try {
      const err = (await graph.get("x").catch((e: unknown) => e)) as GraphNetworkError;
      expect(err).toBeInstanceOf(GraphNetworkError);
      expect(err.causeCode).toBe("ECONNREFUSED");
      expect(err.mayHaveReachedMeta).toBe(false);
      expect(err.timedOut).toBe(false);
    } finally {
      await graph.close();
    }
  });

  it("closes idempotently and refuses calls afterwards", async () => {
    const graph = new GraphClient({ baseUrl, version: "v26.0" });
    await graph.close();
    await graph.close();
    await expect(graph.get("ping")).rejects.toThrow(/closed/);
  });
});
