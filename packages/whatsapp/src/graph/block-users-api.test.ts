import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockUsers, unblockUsers } from "./block-users-api.js";
import { GraphClient } from "./graph-client.js";
import { GraphApiError } from "./graph-errors.js";

/**
 * The Block Users client against a real HTTP server answering as Meta's Block Users reference shows
 * it: a 200 with `added_users`, a mixed result as HTTP 400 with `error` 139100 beside the lists, a
 * 200 with `failed_users` and a request-level `errors` (as the project's simulator answers), and a
 * request-level error (139101) thrown as such.
 */
let server: Server;
let graph: GraphClient;
const seen: Array<{ method: string; url: string; body: unknown }> = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, body: body ? JSON.parse(body) : null });
      res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  graph = new GraphClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, version: "v26.0" });
});
afterAll(async () => {
  await graph.close();
  await new Promise((r) => server.close(r));
});

const input = (users: Parameters<typeof blockUsers>[1]["users"]) => ({
  phoneNumberId: "106540352242922",
  token: "tok-block",
  users,
});

describe("Block Users API client", () => {
  it("blocks by phone and by user id with Meta's body, and reads added_users", async () => {
    answer = {
      status: 200,
      body: {
        messaging_product: "whatsapp",
        block_users: {
          added_users: [
            { input: "+212612345678", wa_id: "212612345678" },
            { input: "MA.1234", user_id: "MA.1234" },
          ],
        },
      },
    };
    const res = await blockUsers(graph, input([{ phone: "+212612345678" }, { userId: "MA.1234" }]));
    expect(res).toEqual({ done: ["+212612345678", "MA.1234"], failed: [] });
    expect(seen.at(-1)).toEqual({
      method: "POST",
      url: "/v26.0/106540352242922/block_users",
      body: { messaging_product: "whatsapp", block_users: [{ user: "+212612345678" }, { user_id: "MA.1234" }] },
    });
  });

  it("reads Meta's documented mixed answer (HTTP 400, error 139100) as that user failing", async () => {
    answer = {
      status: 400,
      body: {
        messaging_product: "whatsapp",
        block_users: {
          failed_users: [
            {
              input: "212612345678",
              wa_id: "212612345678",
              errors: [{ message: "Re-engagement required", code: 131047, error_data: { details: "24 hours" } }],
            },
          ],
        },
        error: {
          message: "(#139100) Failed to block/unblock users",
          type: "OAuthException",
          code: 139100,
          error_data: { details: "Failed to block some users, see the block_users response list for details" },
          fbtrace_id: "Abc",
        },
      },
    };
    const res = await blockUsers(graph, input([{ phone: "212612345678" }]));
    expect(res.done).toEqual([]);
    expect(res.failed).toEqual([
      expect.objectContaining({ input: "212612345678", code: 139100, details: expect.stringMatching(/see the/) }),
    ]);
  });

  it("reads a 200 with failed_users and a request-level errors, per user", async () => {
    answer = {
      status: 200,
      body: {
        messaging_product: "whatsapp",
        block_users: {
          added_users: [{ input: "212600000001", wa_id: "212600000001" }],
          failed_users: [
            {
              input: "212600000002",
              errors: [{ message: "Re-engagement required", code: 131047, error_data: { details: "24 hours" } }],
            },
          ],
        },
        errors: { message: "(#139100) Failed to block/unblock users", code: 139100 },
      },
    };
    const res = await blockUsers(graph, input([{ phone: "212600000001" }, { phone: "212600000002" }]));
    expect(res.done).toEqual(["212600000001"]);
    expect(res.failed).toEqual([
      { input: "212600000002", code: 131047, message: "Re-engagement required", details: "24 hours" },
    ]);
  });

  it("counts a user Meta did not report as failed, never as done; a request-level error is thrown", async () => {
    answer = { status: 200, body: { messaging_product: "whatsapp", block_users: { removed_users: [] } } };
    const res = await unblockUsers(graph, input([{ userId: "MA.42" }]));
    expect(res.done).toEqual([]);
    expect(res.failed).toEqual([expect.objectContaining({ input: "MA.42" })]);
    expect(seen.at(-1)?.method).toBe("DELETE");

    answer = {
      status: 400,
      body: { error: { message: "(#139101) Blocklist limit reached", code: 139101, type: "OAuthException" } },
    };
    await expect(blockUsers(graph, input([{ phone: "212600000003" }]))).rejects.toMatchObject({
      constructor: GraphApiError,
      code: 139101,
    });
  });
});
