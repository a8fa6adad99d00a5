import type { Collection, Connection } from "mongoose";

/**
 * The one place that knows about FerretDB v1, the MongoDB stand-in of development and CI: for the
 * batched writes (the conversation batch, the status batch, the analytics counters) here, for the
 * values it refuses (`wrapNestedArrays`) and its findAndModify (`oneWriterPerDocument`) below. FerretDB holds
 * one PostgreSQL connection per statement of an `update` command until the whole command ends (its
 * msg_update.go defers each statement's cursor close inside the loop), plus one for the statement
 * being written: an update command with more statements than its connection pool waits for itself
 * forever (measured here: a 256-statement bulkWrite hung a FerretDB with pool_max_conns=40). It also
 * runs a command's statements one after the other. So on FerretDB a batch's updates go as commands
 * of a few statements, one command at a time (at most 5 connections); on MongoDB as one bulkWrite.
 * Across processes the commands add up, and FerretDB deadlocks for good once its pool is held by
 * commands each waiting for one more connection (measured: 4 inbound worker processes writing their
 * batches' conversations at once, 3 commands each, hung a FerretDB of 30 connections at the first
 * batches): one command per batch kept 4 workers at 20 connections.
 *
 * Now single-statement commands, two conversations at a time: a command of one statement holds at
 * most two connections and one while it waits (four statements waited holding four), so two of them
 * hold no more than one command of four did, and a batch's conversations go twice as wide (measured,
 * 30 conversations × 4 statements, interleaved runs on a loaded 2-core machine, medians: 4 × 1
 * 828 ms, 1 × 2 669 ms, 1 × 4 436 ms). The analytics counters' lanes (twice `inParallel`, single
 * updates) grow from 2 to 4: per worker at most 6 updates waiting for a connection, as before (2 + 4
 * vs 4 + 2). Four at a time would be faster still, at 12 per worker (48 for 4 workers: FerretDB's
 * default pool is 50).
 *
 * `Database.connect` asks the server once (buildInfo) and keeps the matching BulkWriter
 * (`db.batchWriter`); the repositories hand it to their batch writers. Nothing else sees the limits.
 */
interface UpdateLimits {
  /** Statements per update command. */
  perCommand: number;
  /** Update commands of one batch in flight at once. */
  inParallel: number;
}

const MONGODB_UPDATE_LIMITS: UpdateLimits = { perCommand: Number.POSITIVE_INFINITY, inParallel: 1 };
const FERRETDB_UPDATE_LIMITS: UpdateLimits = { perCommand: 1, inParallel: 2 };

/** `ops` cut into runs of at most `size` (one run when size is Infinity). */
export function chunks<T>(ops: T[], size: number): T[][] {
  if (!Number.isFinite(size) || ops.length <= size) return ops.length ? [ops] : [];
  const out: T[][] = [];
  for (let i = 0; i < ops.length; i += size) out.push(ops.slice(i, i + size));
  return out;
}

/**
 * How the batched updates of one connection are cut into commands: on MongoDB one ordered
 * bulkWrite per batch, on FerretDB commands of a few statements (see above).
 */
export class BulkWriter {
  private constructor(private readonly limits: UpdateLimits) {}

  /** The writer of a MongoDB server: one bulkWrite per batch. */
  static readonly mongodb = new BulkWriter(MONGODB_UPDATE_LIMITS);
  /** The writer of a FerretDB v1 server: commands of one statement, two at a time per batch. */
  static readonly ferretdb = new BulkWriter(FERRETDB_UPDATE_LIMITS);

  /** The writer for the server behind `connection`: FerretDB says so in buildInfo. */
  static async detect(connection: Connection): Promise<BulkWriter> {
    return (await isFerretDb(connection)) ? BulkWriter.ferretdb : BulkWriter.mongodb;
  }

  /** Statements one update command carries (Infinity on MongoDB): what tests count requests by. */
  get statementsPerCommand(): number {
    return this.limits.perCommand;
  }

  /** `ops` cut into the runs one update command may carry (one run on MongoDB). */
  chunks<T>(ops: T[]): T[][] {
    return chunks(ops, this.limits.perCommand);
  }

  /**
   * `items` (one document's writes each) spread over the lanes that may write at once: each lane
   * writes its items one after the other. Two lanes on FerretDB (its pool, see above), four on MongoDB.
   */
  lanes<T>(items: T[]): T[][] {
    const parallel = Number.isFinite(this.limits.perCommand) ? this.limits.inParallel * 2 : 4;
    return chunks(items, Math.max(1, Math.ceil(items.length / parallel)));
  }

  /** Find commands a lookup of `clauses` equality clauses costs (1 on MongoDB): what tests count requests by. */
  lookups(clauses: number): number {
    if (clauses === 0) return 0;
    return Number.isFinite(this.limits.perCommand) ? clauses : 1;
  }

  /**
   * The documents matching `filter`, which must select the same documents as the union of
   * `clauses`, each of which names its documents by top-level equalities (other conditions may sit
   * beside them). MongoDB: one find of `filter`, served by its indexes. FerretDB: one find per
   * clause, four at a time, each document once (by `_id`, in the clauses' order). FerretDB v1 over
   * PostgreSQL hands PostgreSQL only top-level equalities: a filter with `$in` or `$or` reads every
   * document it cannot narrow by one (a whole tenant, or the whole collection for an `$or`) into
   * FerretDB, which decodes and filters them itself; in a chaos run of 2,000 messages such reads
   * returned 260,000 rows, about 130 per message and growing with the collections, while the
   * equality lookups returned 1 to 4 each.
   */
  async findEach<T extends { _id: unknown }>(
    collection: Collection,
    filter: Record<string, unknown>,
    clauses: Array<Record<string, unknown>>,
    /** `limit`: at most that many documents (on FerretDB, each clause's find is limited so, and so is the union). */
    options: { projection?: Record<string, unknown>; limit?: number } = {},
  ): Promise<T[]> {
    if (!clauses.length) return [];
    const findOptions = { ...options, batchSize: Math.min(1_000, options.limit ?? 1_000) };
    if (clauses.length === 1 || !Number.isFinite(this.limits.perCommand))
      return (await collection.find(clauses.length === 1 ? clauses[0]! : filter, findOptions).toArray()) as T[];
    const found: T[][] = clauses.map(() => []);
    await eachAtMost(
      clauses.map((clause, i) => ({ clause, i })),
      this.limits.inParallel * 2,
      async ({ clause, i }) => {
        found[i] = (await collection.find(clause, findOptions).toArray()) as T[];
      },
    );
    const seen = new Set<string>();
    const out: T[] = [];
    for (const doc of found.flat()) {
      const id = String(doc._id);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(doc);
      if (out.length === options.limit) break;
    }
    return out;
  }

  /**
   * Deletes the documents matching `filter`, which must select the same documents as the union of
   * `clauses` (top-level equalities, other conditions may sit beside them); returns how many went.
   * MongoDB: one deleteMany of `filter`. FerretDB: one deleteMany per clause, `inParallel` at a time
   * (a delete holds a connection for its statement, as an update does): as for `findEach`, a filter
   * with `$in` or `$or` would read every document it cannot narrow by an equality into FerretDB.
   * Costs `lookups(clauses.length)` delete commands.
   */
  async deleteEach(
    collection: Collection,
    filter: Record<string, unknown>,
    clauses: Array<Record<string, unknown>>,
  ): Promise<number> {
    if (!clauses.length) return 0;
    if (clauses.length === 1 || !Number.isFinite(this.limits.perCommand))
      return (await collection.deleteMany(clauses.length === 1 ? clauses[0]! : filter)).deletedCount;
    let deleted = 0;
    await eachAtMost(clauses, this.limits.inParallel, async (clause) => {
      const { deletedCount } = await collection.deleteMany(clause);
      deleted += deletedCount;
    });
    return deleted;
  }

  /**
   * Writes groups of update operations, each group about one document and applied in its order.
   * On MongoDB: one ordered bulkWrite. On FerretDB: groups packed whole into commands of
   * `perCommand` statements, `inParallel` commands at a time (a group larger than a command goes as
   * consecutive commands of its own), so no document is written by two commands at once.
   */
  async writeGroups(collection: Collection, groups: unknown[][]): Promise<void> {
    const limits = this.limits;
    if (!Number.isFinite(limits.perCommand)) {
      const all = groups.flat();
      if (all.length) await collection.bulkWrite(all as never, { ordered: true });
      return;
    }
    const lanes: unknown[][][] = [];
    let packed: unknown[] = [];
    for (const group of groups) {
      if (group.length > limits.perCommand) {
        lanes.push(chunks(group, limits.perCommand));
        continue;
      }
      if (packed.length + group.length > limits.perCommand) {
        lanes.push([packed]);
        packed = [];
      }
      packed.push(...group);
    }
    if (packed.length) lanes.push([packed]);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(limits.inParallel, lanes.length) }, async () => {
        for (let i = next++; i < lanes.length; i = next++) {
          for (const command of lanes[i]!) await collection.bulkWrite(command as never, { ordered: true });
        }
      }),
    );
  }
}

/**
 * FerretDB v1 refuses an array directly inside an array, which MongoDB stores (Meta sends some: a
 * template's `example.body_text` is `[["…", "…"]]`, and a payload may carry any JSON). On FerretDB,
 * free-form values written as they came (normalized webhook events, synced template components) go
 * through this: every such inner array is stored as `{ "%array": [...] }` (the key cannot come from
 * Meta's data: safeRaw escapes `%` in keys, and `%array` is no escape). Values without a nested
 * array are returned as they are (the same object); others are copied where they change.
 */
export function wrapNestedArrays<T>(value: T): T {
  return wrapIn(value, false) as T;
}

function wrapIn(v: unknown, inArray: boolean): unknown {
  if (typeof v !== "object" || v === null || v instanceof Date || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const w = wrapIn(v[i], true);
      if (w !== v[i]) (out ??= v.slice())[i] = w;
    }
    const arr = out ?? v;
    return inArray ? { "%array": arr } : arr;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return v;
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(v)) {
    const item = (v as Record<string, unknown>)[key];
    const w = wrapIn(item, false);
    if (w === item) continue;
    out ??= copyOwn(v as Record<string, unknown>);
    out[key] = w;
  }
  return out ?? v;
}

/** A copy keeping every own key, `__proto__` included, as an own data property. */
function copyOwn(v: Record<string, unknown>): Record<string, unknown> {
  const out = (Object.getPrototypeOf(v) === null ? Object.create(null) : {}) as Record<string, unknown>;
  for (const key of Object.keys(v))
    Object.defineProperty(out, key, { value: v[key], enumerable: true, writable: true, configurable: true });
  return out;
}

const ferretDb = new WeakMap<Connection, Promise<boolean>>();

/** Whether the server behind `connection` is FerretDB (its buildInfo says so); asked once per connection. */
export function isFerretDb(connection: Connection): Promise<boolean> {
  let known = ferretDb.get(connection);
  if (!known) {
    known = connection
      .db!.admin()
      .command({ buildInfo: 1 })
      .then((info) => typeof info.ferretdbVersion === "string");
    known.catch(() => ferretDb.delete(connection));
    ferretDb.set(connection, known);
  }
  return known;
}

/**
 * What free-form values become before they are written through `connection`: themselves on
 * MongoDB, `wrapNestedArrays` on FerretDB.
 */
export async function storableValues(connection: Connection): Promise<<T>(value: T) => T> {
  return (await isFerretDb(connection)) ? wrapNestedArrays : (value) => value;
}

const writeChains = new WeakMap<Connection, Map<string, Promise<unknown>>>();

/**
 * Runs `write` (one conditional write of the document `key`, such as a client's transition) at
 * once on MongoDB, whose findAndModify is atomic per document. On FerretDB v1, whose findAndModify
 * reads the document and writes the whole of it back (two concurrent ones lose a write, and may
 * restore a field the other cleared), writes of one document in this process run one after the
 * other. Across processes FerretDB stays as it is: development and CI run one process per role.
 */
export async function oneWriterPerDocument<T>(
  connection: Connection,
  key: string,
  write: () => Promise<T>,
): Promise<T> {
  if (!(await isFerretDb(connection))) return write();
  let chains = writeChains.get(connection);
  if (!chains) writeChains.set(connection, (chains = new Map<string, Promise<unknown>>()));
  const before = chains.get(key) ?? Promise.resolve();
  const run = before.then(write, write);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}

/** Runs `work` on each item, `width` at a time. */
async function eachAtMost<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await work(items[i]!);
    }),
  );
}

/**
 * Applies `update` to the documents matching `filter`, which must select the same documents as the
 * union of `clauses` (top-level equalities only). MongoDB: one updateMany of `filter`. FerretDB: one
 * single-statement updateMany per clause, `inParallel` at a time. FerretDB v1 over PostgreSQL pushes
 * only top-level equalities down to PostgreSQL: a filter with `$in` or `$or` reads the whole
 * collection into FerretDB (measured, interleaved runs: an `_id: {$in}` update of 30 of 2,000
 * messages 398 ms, growing with the collection; 30 single `_id` updates two at a time 223 ms).
 * Returns the documents matched and modified, summed over the clauses.
 */
export async function updateEach(
  collection: Collection,
  filter: Record<string, unknown>,
  clauses: Array<Record<string, unknown>>,
  update: Record<string, unknown>,
): Promise<{ matchedCount: number; modifiedCount: number }> {
  const out = { matchedCount: 0, modifiedCount: 0 };
  if (!clauses.length) return out;
  if (clauses.length === 1 || !(await isFerretDb((collection as unknown as { conn: Connection }).conn))) {
    const res = await collection.updateMany(clauses.length === 1 ? clauses[0]! : filter, update);
    return { matchedCount: res.matchedCount, modifiedCount: res.modifiedCount };
  }
  await eachAtMost(clauses, FERRETDB_UPDATE_LIMITS.inParallel, async (clause) => {
    const res = await collection.updateMany(clause, update);
    out.matchedCount += res.matchedCount;
    out.modifiedCount += res.modifiedCount;
  });
  return out;
}
