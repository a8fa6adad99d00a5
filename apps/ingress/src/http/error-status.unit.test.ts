import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { defineErrors, errorCatalogs } from "@linkojob/errors";
// The app, for every catalog its modules define (each defineErrors registers one when loaded).
import "../app.js";
import { ERROR_CATALOGS, ERROR_STATUS, statusOf } from "./error-status.js";
import { ApiError, installErrorHandler } from "./errors.js";

const UnmappedError = defineErrors("UnmappedError", { NEW_CODE: "a code nobody gave a status" });

describe("the error status table", () => {
  it("gives every code of every catalog the ingress loads an HTTP error status", () => {
    const catalogs = errorCatalogs().filter((c) => c !== UnmappedError);
    // The app's domains, at least: a catalog lost from the registry would make this test pass vacuously.
    expect(catalogs.map((c) => c.catalog)).toEqual(expect.arrayContaining(Object.keys(ERROR_STATUS)));
    const missing: string[] = [];
    for (const catalog of catalogs)
      for (const code of catalog.codes) {
        const status = statusOf(new (catalog as unknown as new (code: string) => ApiError)(code));
        if (status === undefined || status < 400 || status > 599) missing.push(`${catalog.catalog}.${code}`);
      }
    expect(missing).toEqual([]);
  });

  it("names each catalog once, under its own name (the table is keyed by name)", () => {
    const names = errorCatalogs().map((c) => c.catalog);
    expect(new Set(names).size).toBe(names.length);
    for (const [name, catalog] of Object.entries(ERROR_CATALOGS)) expect(catalog.catalog).toBe(name);
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.keys(ERROR_CATALOGS).sort());
  });
});

describe("the error handler", () => {
  async function answerTo(err: Error) {
    const app = Fastify({ logger: false });
    installErrorHandler(app);
    app.get("/fail", () => Promise.reject(err));
    const res = await app.inject({ method: "GET", url: "/fail" });
    await app.close();
    return { status: res.statusCode, body: res.json<Record<string, unknown>>(), raw: res.body };
  }

  it("answers a domain error with its table status, code, message and details", async () => {
    const res = await answerTo(new ApiError("BAD_REQUEST", "from must be before to", { field: "from" }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "BAD_REQUEST", message: "from must be before to", details: { field: "from" } },
    });
  });

  it("answers an unknown error as a 500 that says nothing of it", async () => {
    const err = Object.assign(new Error("connect ECONNREFUSED mongodb://admin:s3cret@10.0.0.5:27017"), {
      code: "ECONNREFUSED",
    });
    const res = await answerTo(err);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: "INTERNAL_ERROR", message: "internal error" } });
    expect(res.raw).not.toMatch(/ECONNREFUSED|s3cret|10\.0\.0\.5/);
  });

  it("answers a domain code the table does not know as a 500, not with its message", async () => {
    const res = await answerTo(new UnmappedError("NEW_CODE", "internal detail 42"));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: "INTERNAL_ERROR", message: "internal error" } });
  });

  it("keeps the 5xx status an unknown error carries, and says nothing else of it", async () => {
    const res = await answerTo(Object.assign(new Error("pool exhausted at db-3"), { statusCode: 503, code: "E_POOL" }));
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: "INTERNAL_ERROR", message: "internal error" } });
    expect(res.raw).not.toMatch(/pool|db-3|E_POOL/);
  });
});
