import { randomBytes } from "node:crypto";
import { inject } from "vitest";

/** Replaces the database name in a MongoDB connection string, keeping hosts and options. */
export function mongoUrlWithDb(url: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/([^?]*))?(\?.*)?$/.exec(url);
  if (!m) throw new Error(`not a MongoDB URL: ${url}`);
  return `${m[1]}/${dbName}${m[3] ?? ""}`;
}

export interface TestServices {
  /** A MongoDB URL with a database of this test file's own. */
  mongoUrl: string;
  redisUrl: string;
  /** A BullMQ / key prefix of this test file's own. */
  prefix: string;
  /** A short random id, for names. */
  id: string;
}

/** Services for one test file: its own database and its own Redis key prefix. */
export function testServices(label = "t"): TestServices {
  const id = randomBytes(4).toString("hex");
  const safe = label.replace(/[^a-z0-9]/gi, "").slice(0, 20) || "t";
  return {
    mongoUrl: mongoUrlWithDb(inject("mongoUrl"), `test_${safe}_${id}`),
    redisUrl: inject("redisUrl"),
    prefix: `test-${safe}-${id}`,
    id,
  };
}
