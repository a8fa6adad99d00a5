import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RedisClient } from "./redis.js";

type ScriptArg = string | number;

/**
 * A Lua script kept in its own `.lua` file, read (and its SHA1 computed) once when the module that
 * declares it loads. Each call is an EVALSHA, then an EVAL when the server does not know the script
 * yet (NOSCRIPT: a new server, a restart, SCRIPT FLUSH), which also loads it for the next calls.
 * Works the same on one Redis and on a Redis Cluster (ioredis routes EVALSHA/EVAL by their keys); on
 * a cluster every key of one call must hash to one slot (a hash-tagged prefix such as `{lj}`).
 *
 * Plain EVALSHA/EVAL, not ioredis `defineCommand`: a command defined on a client whose auto-pipeline
 * is already filling is missing from that pipeline, and ioredis then throws out of its callback
 * (redis/ioredis#1931, "results[i] is not iterable"), an uncaught exception that ends the process.
 *
 * Declare it beside the code that uses it:
 * `const RELEASE = new RedisScript("ljReleaseLock", new URL("./release-lock.lua", import.meta.url), 1);`
 */
export class RedisScript {
  readonly lua: string;
  readonly sha: string;

  constructor(
    /** A name for errors and traces: unique across the process's scripts. */
    readonly name: string,
    file: URL,
    /** Keys each call passes; "any" for a script over a variable set of keys (same slot on a cluster). */
    readonly numberOfKeys: number | "any",
  ) {
    this.lua = readFileSync(file, "utf8");
    this.sha = createHash("sha1").update(this.lua).digest("hex");
  }

  run(redis: RedisClient, keys: readonly string[], args: readonly ScriptArg[] = []): Promise<unknown> {
    if (this.numberOfKeys !== "any" && keys.length !== this.numberOfKeys)
      throw new Error(`${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    return redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((err: Error) => {
      if (!err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    });
  }
}
