import { describe, expect, it } from "vitest";
import mongoose from "mongoose";
import { classifyFailure, DeterministicFailure } from "./failure-class.js";

const { MongoNetworkError, MongoServerError, MongoServerSelectionError, BSON } = mongoose.mongo;
const server = (code: number) => new MongoServerError({ message: `code ${code}`, code, ok: 0 });

describe("classifyFailure", () => {
  it("retries database, Redis and network failures", () => {
    for (const err of [
      new MongoNetworkError("connection closed"),
      new MongoServerSelectionError("Server selection timed out after 30000 ms", {
        type: "Unknown",
        servers: new Map(),
        stale: false,
        compatible: true,
        heartbeatFrequencyMS: 10_000,
        localThresholdMS: 15,
        setName: null,
        maxElectionId: null,
        maxSetVersion: null,
        commonWireVersion: 0,
        logicalSessionTimeoutMinutes: null,
      } as never),
      server(91), // ShutdownInProgress
      server(189), // PrimarySteppedDown
      server(1), // FerretDB's InternalError when PostgreSQL is gone
      Object.assign(new Error("Reached the max retries per request limit"), { name: "MaxRetriesPerRequestError" }),
      new Error("Connection is closed."), // ioredis
    ]) {
      expect(classifyFailure(err).kind, `${err.name}: ${err.message}`).toBe("transient");
    }
  });

  it("never retries what fails the same way every time", () => {
    const cast = new mongoose.Error.CastError("date", "99999999999999999999", "timestamp");
    const validation = new mongoose.Error.ValidationError();
    for (const err of [
      server(2), // BadValue
      server(14), // TypeMismatch
      server(52), // DollarPrefixedFieldName
      server(17419), // document too large
      Object.assign(new Error("write errors"), { name: "MongoBulkWriteError", writeErrors: [{ index: 0, code: 52 }] }),
      cast,
      validation,
      new BSON.BSONError("cannot serialize"),
      new TypeError("x is not a function"),
      new RangeError("Maximum call stack size exceeded"),
      new DeterministicFailure("refused"),
    ]) {
      expect(classifyFailure(err).kind, `${err.name}: ${err.message}`).toBe("deterministic");
    }
  });

  it("a bulk write with a server-state error among its write errors is retried", () => {
    const err = Object.assign(new Error("write errors"), {
      name: "MongoBulkWriteError",
      writeErrors: [
        { index: 0, code: 52 },
        { index: 1, code: 91 },
      ],
    });
    expect(classifyFailure(err).kind).toBe("transient");
  });
});
