import type { Collection, Connection } from "mongoose";

/**
 * The one place that knows about FerretDB v1, the MongoDB stand-in of development and CI, for the
 * batched writes (ConversationBatch, StatusBatch). FerretDB holds one PostgreSQL connection per
 * statement of an `update` command until the whole command ends (its msg_update.go defers each
 * statement's cursor close inside the loop), plus one for the statement being written: an update
 * command with more statements than its connection pool waits for itself forever (measured here: a
 * 256-statement bulkWrite hung a FerretDB with pool_max_conns=40). It also runs a command's
 * statements one after the other. So on FerretDB a batch's updates go as commands of a few
 * statements, one command at a time (at most 5 connections); on MongoDB as one bulkWrite. Across
 * processes the commands add up, and FerretDB deadlocks for good once its pool is held by commands
 * each waiting for one more connection (measured: 4 inbound worker processes writing their batches'
 * conversations at once, 3 commands each, hung a FerretDB of 30 connections at the first batches):
 * one command per batch kept 4 workers at 20 connections.
 *
 * Now single-statement commands, two conversations at a time: a command of one statement holds at
 * most two connections and one while it waits (four statements waited holding four), so two of them
 * hold no more than one command of four did, and a batch's conversations go twice as wide (measured,
 * 30 conversations × 4 statements, interleaved runs on a loaded 2-core machine, medians: 4 × 1
 * 828 ms, 1 × 2 669 ms, 1 × 4 436 ms). The analytics counters' lanes (twice `inParallel`, single
 * updates) grow from 2 to 4: per worker at most 6 updates waiting for a connection, as before (2 + 4
 * vs 4 + 2). Four at a time would be faster still, at 12 per worker (48 for 4 workers: FerretDB's
 * default pool is 50).
 */
export interface UpdateLimits {
  /** Statements per update command. */
  perCommand: number;
  /** Update commands of one batch in flight at once. */
  inParallel: number;
}

export const MONGODB_UPDATE_LIMITS: UpdateLimits = { perCommand: Number.POSITIVE_INFINITY, inParallel: 1 };
export const FERRETDB_UPDATE_LIMITS: UpdateLimits = { perCommand: 1, inParallel: 2 };

/** The limits of the server behind `connection`: FerretDB says so in buildInfo. */
export async function updateLimits(connection: Connection): Promise<UpdateLimits> {
  const info = await connection.db!.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === "string" ? FERRETDB_UPDATE_LIMITS : MONGODB_UPDATE_LIMITS;
}

/** `ops` cut into runs of at most `size` (one run when size is Infinity). */
export function chunks<T>(ops: T[], size: number): T[][] {
  if (!Number.isFinite(size) || ops.length <= size) return ops.length ? [ops] : [];
  const out: T[][] = [];
  for (let i = 0; i < ops.length; i += size) out.push(ops.slice(i, i + size));
  return out;
}

/**
 * Writes groups of update operations, each group about one document and applied in its order.
 * Under MongoDB limits: one ordered bulkWrite. Under FerretDB's: groups packed whole into commands
 * of `perCommand` statements, `inParallel` commands at a time (a group larger than a command goes
 * as consecutive commands of its own), so no document is written by two commands at once.
 */
export async function bulkWriteGroups(
  collection: Collection,
  groups: unknown[][],
  limits: UpdateLimits,
): Promise<void> {
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

/**
 * Whether the server behind `collection` is FerretDB (asked once per connection). FerretDB v1 over
 * PostgreSQL pushes only top-level equalities down to PostgreSQL: a filter with `$in` or `$or` reads
 * the whole collection into FerretDB (measured, interleaved runs: an `_id: {$in}` update of 30 of
 * 2,000 messages 398 ms, growing with the collection; 30 single `_id` updates two at a time 223 ms).
 */
function isFerretDb(collection: Collection): Promise<boolean> {
  const conn = (collection as unknown as { conn: Connection }).conn;
  let known = servers.get(conn);
  if (!known) {
    known = updateLimits(conn).then(
      (limits) => limits === FERRETDB_UPDATE_LIMITS,
      (err: unknown) => {
        servers.delete(conn);
        throw err;
      },
    );
    servers.set(conn, known);
  }
  return known;
}
const servers = new WeakMap<Connection, Promise<boolean>>();

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
 * single-statement updateMany per clause, `inParallel` at a time (see FERRETDB_UPDATE_LIMITS).
 */
export async function updateEach(
  collection: Collection,
  filter: Record<string, unknown>,
  clauses: Array<Record<string, unknown>>,
  update: Record<string, unknown>,
): Promise<void> {
  if (!clauses.length) return;
  if (clauses.length === 1 || !(await isFerretDb(collection))) {
    await collection.updateMany(clauses.length === 1 ? clauses[0]! : filter, update);
    return;
  }
  await eachAtMost(clauses, FERRETDB_UPDATE_LIMITS.inParallel, async (clause) => {
    await collection.updateMany(clause, update);
  });
}
