import type { TestProject } from "vitest/node";
import { startFerretDb, type RunningService } from "./ferretdb.js";
import { startRedisServer } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUrl: string;
    redisUrl: string;
  }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * One FerretDB for every project of this Vitest process (each project's global setup runs here, in
 * separate module instances, hence globalThis): every test file has a database of its own anyway,
 * and one FerretDB holds one pool of PostgreSQL connections instead of one per project. The last
 * project's teardown stops it.
 */
function sharedFerretDb(): Promise<RunningService> {
  const g = globalThis as { __ljFerret?: { started: Promise<RunningService>; users: number } };
  g.__ljFerret ??= { started: startFerretDb(), users: 0 };
  const shared = g.__ljFerret;
  shared.users++;
  return shared.started.then((f) => ({
    url: f.url,
    async stop() {
      if (--shared.users > 0) return;
      if (g.__ljFerret === shared) delete g.__ljFerret;
      await f.stop();
    },
  }));
}

/**
 * Provides a MongoDB-protocol server and a Redis to the tests: MONGODB_URI / REDIS_URL when set;
 * else testcontainers (mongo:7, redis:7) when a Docker engine answers; else local binaries (FerretDB,
 * built once with Go, on PostgreSQL when one answers at PG_URL and on SQLite otherwise, and a
 * redis-server). Every test project runs this once: each project gets a redis-server of its own,
 * the projects of one run share one FerretDB (on PostgreSQL with a database of the run's own, dropped
 * at the end), and every test file still gets its own database and key prefix (testServices()).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  let mongoUrl = process.env.MONGODB_URI;
  let redisUrl = process.env.REDIS_URL;
  const useDocker = (!mongoUrl || !redisUrl) && (await dockerAnswers());
  if (!mongoUrl) {
    if (useDocker) {
      const { GenericContainer } = await import("testcontainers");
      const c = await new GenericContainer("mongo:7").withExposedPorts(27017).start();
      mongoUrl = `mongodb://${c.getHost()}:${c.getMappedPort(27017)}`;
      stops.push(async () => void (await c.stop()));
    } else {
      const f = await sharedFerretDb();
      mongoUrl = f.url;
      stops.push(() => f.stop());
    }
  }
  if (!redisUrl) {
    if (useDocker) {
      const { GenericContainer } = await import("testcontainers");
      const c = await new GenericContainer("redis:7").withExposedPorts(6379).start();
      redisUrl = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
      stops.push(async () => void (await c.stop()));
    } else {
      const r = await startRedisServer();
      redisUrl = r.url;
      stops.push(() => r.destroy());
    }
  }
  project.provide("mongoUrl", mongoUrl);
  project.provide("redisUrl", redisUrl);
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
