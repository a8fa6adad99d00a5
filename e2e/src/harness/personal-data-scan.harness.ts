import type { mongo } from "mongoose";
import type { RedisClient } from "@linkojob/queues";

/** Where a needle was found: the collection or Redis key, and which needle (never the record itself). */
export interface Trace {
  where: string;
  needle: string;
}

const hitsIn = (where: string, text: string, needles: readonly string[]): Trace[] =>
  needles.filter((n) => text.includes(n)).map((needle) => ({ where, needle }));

/**
 * Every document of every collection of the database (GridFS files and chunks included: a chunk's
 * bytes are read as text too), searched for the needles.
 */
export async function scanDatabase(db: mongo.Db, needles: readonly string[]): Promise<Trace[]> {
  const traces: Trace[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    for await (const doc of db.collection(name).find({})) {
      let text = JSON.stringify(doc);
      const data = (doc as { data?: { buffer?: Uint8Array } }).data;
      if (name.endsWith(".chunks") && data?.buffer) text += Buffer.from(data.buffer).toString("latin1");
      traces.push(...hitsIn(name, text, needles));
    }
  }
  return traces;
}

/** Every key matching `pattern` (SCAN), read by its type (string, hash, list, set, sorted set, stream), searched with its name. */
export async function scanRedis(redis: RedisClient, pattern: string, needles: readonly string[]): Promise<Trace[]> {
  const traces: Trace[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let content: unknown = null;
      if (type === "string") content = await redis.get(key);
      else if (type === "hash") content = await redis.hgetall(key);
      else if (type === "list") content = await redis.lrange(key, 0, -1);
      else if (type === "set") content = await redis.smembers(key);
      else if (type === "zset") content = await redis.zrange(key, 0, -1, "WITHSCORES");
      else if (type === "stream") content = await redis.xrange(key, "-", "+");
      traces.push(...hitsIn(`redis ${type} ${key}`, `${key}\n${JSON.stringify(content)}`, needles));
    }
  } while (cursor !== "0");
  return traces;
}

/** Log lines, searched. */
export const scanLogs = (lines: readonly string[], needles: readonly string[]): Trace[] =>
  lines.flatMap((line, i) => hitsIn(`log line ${i}`, line, needles));
