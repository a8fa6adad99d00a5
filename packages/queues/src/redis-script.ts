import { readFileSync } from "node:fs";
import type { RedisClient } from "./redis.js";

type ScriptArg = string | number;

/**
 * A Lua script kept in its own `.lua` file, read once when the module that declares it loads, and
 * registered on each Redis client once (ioredis `defineCommand`: EVALSHA, falling back to EVAL when
 * the server does not know the script yet). Works the same on one Redis and on a Redis Cluster; on a
 * cluster every key of one call must hash to one slot (a hash-tagged prefix such as `{lj}`).
 *
 * Declare it beside the code that uses it:
 * `const RELEASE = new RedisScript("ljReleaseLock", new URL("./release-lock.lua", import.meta.url), 1);`
 */
export class RedisScript {
  readonly lua: string;
  private readonly clients = new WeakSet<RedisClient>();

  constructor(
    /** The command name on the client: unique across the process's scripts. */
    readonly name: string,
    file: URL,
    readonly numberOfKeys: number,
  ) {
    this.lua = readFileSync(file, "utf8");
  }

  run(redis: RedisClient, keys: readonly string[], args: readonly ScriptArg[] = []): Promise<unknown> {
    if (keys.length !== this.numberOfKeys)
      throw new Error(`${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    if (!this.clients.has(redis)) {
      redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
      this.clients.add(redis);
    }
    const command = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[this.name];
    if (!command) throw new Error(`${this.name} is not defined on this Redis client`);
    return command.call(redis, ...keys, ...args);
  }
}
