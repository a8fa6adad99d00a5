import { CommandCounter, testServices } from "@linkojob/testing";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "./database.js";
import { isFerretDb, updateEach } from "./ferretdb-adapter.js";

/**
 * `findEach` on the run's real MongoDB-protocol server: what a lookup by several values finds is
 * what the `$in` / `$or` filter it stands for finds, each document once, whatever the server; on
 * FerretDB it costs one equality find per clause (its `$in` reads every document of the tenant or
 * the collection), on MongoDB one find.
 */

const services = testServices("findeach");
let db: Database;
let counter: CommandCounter;
const tenantA = new Types.ObjectId();
const tenantB = new Types.ObjectId();
type Row = { _id: Types.ObjectId; clientId: Types.ObjectId; key: string; n: number };

beforeAll(async () => {
  db = await Database.connect(services.mongoUrl, { monitorCommands: true });
  counter = new CommandCounter(db.connection);
  const rows: Row[] = [];
  for (const clientId of [tenantA, tenantB])
    for (let n = 0; n < 40; n++) rows.push({ _id: new Types.ObjectId(), clientId, key: `k${n % 20}`, n });
  await db.connection.db!.collection("rows").insertMany(rows);
});

afterAll(async () => {
  await db?.connection.dropDatabase();
  await db?.close();
});

const rows = () => db.connection.collection("rows");
const ids = (docs: Array<{ _id: unknown }>) => docs.map((d) => String(d._id)).sort();

describe("findEach", () => {
  it("finds what the mixed-tenant $or finds, each document once, in one find per clause on FerretDB only", async () => {
    const wanted = [
      { clientId: tenantA, keys: ["k1", "k2", "k19"] },
      { clientId: tenantB, keys: ["k2", "k7"] },
    ];
    const filter = { $or: wanted.map((w) => ({ clientId: w.clientId, key: { $in: w.keys } })) };
    const clauses = wanted.flatMap((w) => w.keys.map((key) => ({ clientId: w.clientId, key })));
    const expected = await rows().find(filter).toArray();
    expect(expected).toHaveLength(10);

    counter.reset();
    const found = await db.batchWriter.findEach<Row>(rows(), filter, clauses, { projection: { key: 1, clientId: 1 } });
    expect(counter.byCommand()).toEqual({ find: db.batchWriter.lookups(clauses.length) });
    expect(db.batchWriter.lookups(clauses.length)).toBe((await isFerretDb(db.connection)) ? 5 : 1);
    expect(ids(found)).toEqual(ids(expected));
    // The projection applies: only the fields asked for (and _id).
    expect(Object.keys(found[0]!).sort()).toEqual(["_id", "clientId", "key"]);
  });

  it("returns a document matched by two clauses once, and conditions beside the equalities apply", async () => {
    const filter = {
      clientId: tenantA,
      $or: [{ key: "k3" }, { n: 3 }, { n: 23 }],
      n: { $gte: 20 },
    };
    const clauses = [
      { clientId: tenantA, key: "k3", n: { $gte: 20 } },
      { clientId: tenantA, n: 23 },
      { clientId: tenantA, n: 3, _never: { $exists: true } },
    ];
    const found = await db.batchWriter.findEach<Row>(rows(), filter, clauses);
    // k3 at n = 3 and n = 23; n >= 20 leaves n = 23, found by the first two clauses.
    expect(found.map((r) => r.n)).toEqual([23]);
    expect(ids(found)).toEqual(ids(await rows().find(filter).toArray()));
  });

  it("makes no request for no clause, and one find of the clause itself for one", async () => {
    counter.reset();
    expect(await db.batchWriter.findEach(rows(), { key: { $in: [] } }, [])).toEqual([]);
    expect(counter.total).toBe(0);
    const one = await db.batchWriter.findEach<Row>(rows(), { key: { $in: ["k4"] } }, [
      { clientId: tenantB, key: "k4" },
    ]);
    expect(counter.byCommand()).toEqual({ find: 1 });
    expect(one.map((r) => [String(r.clientId), r.key])).toEqual([
      [String(tenantB), "k4"],
      [String(tenantB), "k4"],
    ]);
  });

  it("keeps at most `limit` documents of the union, in the clauses' order", async () => {
    const clauses = [
      { clientId: tenantB, key: "k5" },
      { clientId: tenantA, key: "k5" },
    ];
    const all = await db.batchWriter.findEach<Row>(rows(), { $or: clauses }, clauses);
    expect(all).toHaveLength(4);
    const three = await db.batchWriter.findEach<Row>(rows(), { $or: clauses }, clauses, { limit: 3 });
    expect(three).toHaveLength(3);
    expect(three.every((r) => r.key === "k5")).toBe(true);
    const [first] = await db.batchWriter.findEach<Row>(rows(), { clientId: tenantB, key: "k5" }, clauses.slice(0, 1), {
      limit: 1,
    });
    expect(String(first!.clientId)).toBe(String(tenantB));
  });

  it("deleteEach deletes what the $or deletes, in one delete per clause on FerretDB only", async () => {
    const extra = [tenantA, tenantB].flatMap((clientId) =>
      ["d1", "d2", "d3"].map((key) => ({ _id: new Types.ObjectId(), clientId, key, n: -1 })),
    );
    await rows().insertMany(extra);
    const clauses = [
      { clientId: tenantA, key: "d1" },
      { clientId: tenantB, key: "d1" },
      { clientId: tenantB, key: "d3" },
    ];
    counter.reset();
    expect(await db.batchWriter.deleteEach(rows(), { $or: clauses }, clauses)).toBe(3);
    expect(counter.byCommand()).toEqual({ delete: db.batchWriter.lookups(clauses.length) });
    const left = await rows().find({ n: -1 }).toArray();
    expect(left.map((r) => `${String(r.clientId)}|${r.key}`).sort()).toEqual(
      [`${String(tenantA)}|d2`, `${String(tenantA)}|d3`, `${String(tenantB)}|d2`].sort(),
    );
    counter.reset();
    expect(await db.batchWriter.deleteEach(rows(), { n: -2 }, [])).toBe(0);
    expect(counter.total).toBe(0);
    await rows().deleteMany({ n: -1 });
  });
});

describe("updateEach and deleteEach", () => {
  it("update and delete what the $in filter names, and say how many, in one request per clause on FerretDB only", async () => {
    const some = (await rows()
      .find({ clientId: tenantB, key: { $in: ["k5", "k6"] } })
      .toArray()) as Row[];
    expect(some).toHaveLength(4);
    const filter = { clientId: tenantB, _id: { $in: some.map((r) => r._id) } };
    const clauses = some.map((r) => ({ clientId: tenantB, _id: r._id }));
    const perClause = (await isFerretDb(db.connection)) ? clauses.length : 1;

    counter.reset();
    const updated = await updateEach(rows(), filter, clauses, { $set: { marked: true } });
    expect(updated).toEqual({ matchedCount: 4, modifiedCount: 4 });
    expect(counter.byCommand()).toEqual({ update: perClause });
    expect(await rows().countDocuments({ marked: true })).toBe(4);

    counter.reset();
    expect(await db.batchWriter.deleteEach(rows(), filter, clauses)).toBe(4);
    expect(counter.byCommand()).toEqual({ delete: perClause });
    expect(await rows().countDocuments({ marked: true })).toBe(0);
    // The other tenant's rows with the same keys stay.
    expect(await rows().countDocuments({ clientId: tenantA, key: { $in: ["k5", "k6"] } })).toBe(4);

    // Again: nothing left to delete, no clause no request.
    expect(await db.batchWriter.deleteEach(rows(), filter, clauses)).toBe(0);
    counter.reset();
    expect(await db.batchWriter.deleteEach(rows(), { _id: { $in: [] } }, [])).toBe(0);
    expect(counter.total).toBe(0);
  });
});
