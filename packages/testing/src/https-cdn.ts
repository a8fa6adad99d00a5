import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";

/** What a path of the test CDN answers: a file, an HTTP error, or a redirect. */
export type CdnRoute =
  | { body: Buffer; type?: string; /** Content-Length to announce instead of the real one. */ length?: number }
  | { status: number }
  | { redirect: string };

export interface TestCdn {
  /** https://localhost:<port> */
  url: string;
  /** The self-signed certificate (PEM) a client must trust (`ca`). */
  ca: string;
  routes: Map<string, CdnRoute>;
  /** GETs per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

let pems: Promise<{ cert: string; key: string }> | undefined;
/** One certificate per test process, for localhost and 127.0.0.1. */
const certificate = () =>
  (pems ??= generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  }).then((g) => ({ cert: g.cert, key: g.private })));

/**
 * A real HTTPS server on localhost standing in for a CDN that serves the files a send names by URL
 * (media fetched by the outbound worker). Its certificate is self-signed: the client is given `ca`,
 * and `localhost` must be allowed as a private host (the fetcher refuses private addresses).
 */
export async function startTestCdn(routes: Record<string, CdnRoute> = {}): Promise<TestCdn> {
  const { cert, key } = await certificate();
  const table = new Map(Object.entries(routes));
  const hits = new Map<string, number>();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const path = new URL(req.url ?? "/", "https://localhost").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = table.get(path);
    if (!route) return res.writeHead(404).end("not found");
    if ("status" in route) return res.writeHead(route.status).end(`status ${route.status}`);
    if ("redirect" in route) return res.writeHead(302, { location: route.redirect }).end();
    res.writeHead(200, {
      "content-type": route.type ?? "application/octet-stream",
      "content-length": String(route.length ?? route.body.length),
    });
    res.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://localhost:${port}`,
    ca: cert,
    routes: table,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
