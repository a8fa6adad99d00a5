import { afterAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { startFerretDb, type RunningFerretDb } from "@linkojob/testing";
import { Database } from "../database.js";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("InboundMessageBatch when the server stops mid-insert", () => {
  let ferret: RunningFerretDb | undefined;
  let db: Database | undefined;
  afterAll(async () => {
    await db?.close().catch(() => undefined);
    await ferret?.stop();
  });

  // The driver reports a connection closed during insertMany as a bulk write error without any
  // write error: what the server stored of that batch is unknown, so insert() must throw (the batch
  // is retried), never answer "inserted" for documents that may not be there.
  it("answers `inserted` only for messages that are stored", { timeout: 90_000 }, async () => {
    ferret = await startFerretDb({});
    db = await Database.connect(`${ferret.url}/insertstop`, { maxPoolSize: 8 });
    const batch = db.messageStore.inboundBatch({ writer: "probe" });
    const clientId = new Types.ObjectId();
    const conversationId = new Types.ObjectId();
    const answered = new Map<string, Types.ObjectId>();
    let seq = 0;
    let failures = 0;
    let stop = false;
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const items = Array.from({ length: 30 }, () => {
          const n = seq++;
          return {
            clientId,
            conversationId,
            message: {
              wamid: `wamid.stop-probe-${n}`,
              type: "text" as const,
              originalType: "text",
              timestamp: new Date(),
              content: { body: `message ${n}` },
              text: `message ${n}`,
            },
          };
        });
        try {
          for (const r of await batch.insert(items))
            if (r.state === "inserted") answered.set(String(r.message.wamid), r.message._id);
        } catch {
          failures++;
          await pause(20);
        }
      }
    });
    await pause(1_000);
    await ferret.halt();
    await pause(300);
    await ferret.resume();
    await pause(1_000);
    stop = true;
    await Promise.all(writers);

    // The stop was seen by the writers, and they stored again after it.
    expect(failures).toBeGreaterThan(0);
    const stored = new Set(
      (await db.messages.collection.find({ clientId }, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)),
    );
    expect(answered.size).toBeGreaterThan(0);
    const missing = [...answered].filter(([, id]) => !stored.has(id.toHexString())).map(([wamid]) => wamid);
    expect(missing).toEqual([]);
  });
});
