import { Writable } from "node:stream";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { Database, type ClientDoc, type EncryptedSecret } from "@linkojob/db";
import { CLIENTS_CHANGED_CHANNEL, DashboardEvents, type ClientChangedMessage } from "@linkojob/events";
import { MetaSimulator } from "@linkojob/meta-simulator";
import { createRedis } from "@linkojob/queues";
import { TEST_SECRETS, testServices, tokenFor, type TestServices, testIngressConfig } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { GraphClient } from "@linkojob/whatsapp";
import { buildApp } from "../app.js";
import type { OnboardingConfig } from "./onboarding.routes.js";
import type { TemplateSyncHook } from "./onboarding.service.js";

/**
 * Everything an onboarding test needs, real and over HTTP: the ingress (buildApp, driven with
 * inject), the Meta simulator (listening on a port; the ingress's GraphClient and the "browser" call
 * it over HTTP), FerretDB/MongoDB, Redis. It also records what was published on
 * CLIENTS_CHANGED_CHANNEL, the client:status events sent toward dashboards, and every log line.
 */
export interface OnboardingHarness {
  services: TestServices;
  app: FastifyInstance;
  sim: MetaSimulator;
  db: Database;
  graph: GraphClient;
  vault: TokenVault;
  config: OnboardingConfig;
  /** Messages published on CLIENTS_CHANGED_CHANNEL (all test files share the channel: filter by clientId). */
  changes: ClientChangedMessage[];
  /** Raw socket.io-emitter publications: channel (names the room) and payload text (names the event). */
  dashboardEvents: Array<{ channel: string; payload: string }>;
  /** Every log line the ingress wrote. */
  logs: string[];
  /** The simulator's control API. */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  close(): Promise<void>;
}

export const APP_ID = TEST_SECRETS.appId;
export const BASE_URL = "http://ingress.test";
export const DASHBOARD_URL = "http://dashboard.test/settings/whatsapp?tab=channels";

export async function startOnboardingHarness(
  label: string,
  opts: {
    templateSync?: TemplateSyncHook;
    configId?: string;
    vault?: TokenVault;
    baseUrl?: string;
    /** Connection checks' per-client interval; 0 (none) unless a test gives one. */
    checkIntervalSeconds?: number;
  } = {},
): Promise<OnboardingHarness> {
  const services = testServices(label);
  const db = await Database.connect(services.mongoUrl);
  const redis = createRedis(services.redisUrl, { failFast: true });
  const eventsRedis = createRedis(services.redisUrl);
  const subscriber = new Redis(services.redisUrl);
  const changes: ClientChangedMessage[] = [];
  const dashboardEvents: Array<{ channel: string; payload: string }> = [];
  const ioKey = `${services.prefix}-io`;
  subscriber.on("message", (channel: string, message: string) => {
    if (channel === CLIENTS_CHANGED_CHANNEL) changes.push(JSON.parse(message) as ClientChangedMessage);
  });
  subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, message: Buffer) => {
    dashboardEvents.push({ channel: channel.toString("utf8"), payload: message.toString("latin1") });
  });
  await subscriber.subscribe(CLIENTS_CHANGED_CHANNEL);
  await subscriber.psubscribe(`${ioKey}#*`);

  const sim = await MetaSimulator.create({ appSecret: TEST_SECRETS.appSecret, appId: APP_ID });
  await sim.listen();
  const graph = new GraphClient({ baseUrl: sim.url, version: "v26.0", headersTimeoutMs: 10_000 });
  const vault = opts.vault ?? new TokenVault([TEST_SECRETS.tokenKey]);
  const logs: string[] = [];
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const config: OnboardingConfig = {
    appId: APP_ID,
    appSecret: TEST_SECRETS.appSecret,
    apiVersion: "v26.0",
    baseUrl: opts.baseUrl ?? BASE_URL,
    dashboardUrl: DASHBOARD_URL,
    dialogUrl: sim.url,
    ...(opts.configId ? { configId: opts.configId } : {}),
    stateSecret: TEST_SECRETS.jwtSecret,
    keyPrefix: services.prefix,
    checkIntervalSeconds: opts.checkIntervalSeconds ?? 0,
  };
  const app = await buildApp({
    config: testIngressConfig(services.prefix),
    redis,
    db,
    events: new DashboardEvents(eventsRedis, ioKey),
    logger,
    onboarding: { config, graph, vault, ...(opts.templateSync ? { templateSync: opts.templateSync } : {}) },
  });

  return {
    services,
    app,
    sim,
    db,
    graph,
    vault,
    config,
    changes,
    dashboardEvents,
    logs,
    async control(method, path, body) {
      const res = await fetch(sim.url + path, {
        method,
        ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await app.close();
      await graph.close();
      await sim.close();
      subscriber.disconnect();
      redis.disconnect();
      eventsRedis.disconnect();
      await db.connection.dropDatabase().catch(() => undefined);
      await db.close();
    },
  };
}

export interface SeededBusiness {
  businessId: string;
  wabaId: string;
  name: string;
  phoneNumbers: Array<{ id: string; displayPhoneNumber: string; registered: boolean; hasPin: boolean }>;
  subscribedApps: string[];
}

export const seedBusiness = async (h: OnboardingHarness, body: unknown = {}): Promise<SeededBusiness> =>
  (await h.control<SeededBusiness>("POST", "/_sim/onboarding/businesses", body)).json;

export const simBusiness = async (h: OnboardingHarness, wabaId: string): Promise<SeededBusiness> =>
  (await h.control<SeededBusiness>("GET", `/_sim/onboarding/businesses/${wabaId}`)).json;

export const popupCode = async (h: OnboardingHarness, wabaIds: string[]): Promise<string> =>
  (await h.control<{ code: string }>("POST", "/_sim/onboarding/codes", { wabaIds })).json.code;

export const authHeader = async (userId: string, role: "recruiter" | "admin" | "service" = "recruiter") => ({
  authorization: `Bearer ${await tokenFor(userId, role)}`,
});

/** The `name=value` pairs a browser would send back, from an answer's Set-Cookie headers (deleted ones dropped). */
export function cookiesFrom(setCookie: string | string[] | undefined): string {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  return list
    .filter((c) => !/Max-Age=0\b/i.test(c))
    .map((c) => c.split(";")[0]!)
    .join("; ");
}

/** initiate as the dashboard calls it: Meta's dialog URL, and the cookie the browser now holds. */
export async function initiate(
  h: OnboardingHarness,
  userId: string,
): Promise<{ oauthUrl: string; cookie: string; setCookie: string }> {
  const init = await h.app.inject({
    method: "POST",
    url: "/api/auth/whatsapp/initiate",
    headers: await authHeader(userId),
  });
  if (init.statusCode !== 200) throw new Error(`initiate answered ${init.statusCode}: ${init.body}`);
  const setCookie = String(init.headers["set-cookie"]);
  return {
    oauthUrl: init.json<{ oauthUrl: string }>().oauthUrl,
    cookie: cookiesFrom(init.headers["set-cookie"]),
    setCookie,
  };
}

/** Meta's dialog (the simulator) approves: the path + query of our callback it redirects the browser to. */
export async function approveDialog(oauthUrl: string): Promise<string> {
  const dialog = await fetch(oauthUrl, { redirect: "manual" });
  const back = new URL(dialog.headers.get("location")!);
  return back.pathname + back.search;
}

/** The redirect flow as a browser runs it: initiate → Meta's dialog (simulator) → our callback, with the browser's cookie. */
export async function redirectFlow(
  h: OnboardingHarness,
  userId: string,
): Promise<{ oauthUrl: string; callbackUrl: string; location: URL; cookie: string }> {
  const { oauthUrl, cookie } = await initiate(h, userId);
  const callbackUrl = await approveDialog(oauthUrl);
  const location = await callback(h, callbackUrl, cookie);
  return { oauthUrl, callbackUrl, location, cookie };
}

/** Follows our callback (path + query) from a browser holding `cookie`, and returns where it redirects the browser. */
export async function callback(h: OnboardingHarness, pathAndQuery: string, cookie?: string): Promise<URL> {
  const res = await h.app.inject({ method: "GET", url: pathAndQuery, ...(cookie ? { headers: { cookie } } : {}) });
  if (res.statusCode !== 302) throw new Error(`callback answered ${res.statusCode}: ${res.body}`);
  return new URL(res.headers.location as string);
}

/** The client document exactly as stored (the driver, not the model). */
/** A client document as this gateway writes it (its token in the vault's object form). */
export type WrittenClientDoc = Omit<ClientDoc, "accessToken"> & { accessToken?: EncryptedSecret | null };

export const rawClient = (h: OnboardingHarness, filter: Record<string, unknown>) =>
  h.db.connection.db!.collection<WrittenClientDoc>("clients").findOne(filter);

/** The tokens the simulator saw in Bearer headers of calls to a path. */
export const tokensSeenBySim = (h: OnboardingHarness, path: RegExp) =>
  h.sim.state.requestsTo(path).flatMap((r) => (r.token ? [r.token] : []));

/** A file's onboarding setup, as onboardingSuite() registers it. */
export interface OnboardingSuite {
  /** Set by the suite's beforeAll. */
  readonly h: OnboardingHarness;
  /** Every template sync the onboarding asked for, in order. */
  readonly syncCalls: Array<{ clientId: string; wabaId: string; phoneNumberId?: string }>;
  /** POST /api/auth/whatsapp/exchange as that user (the JavaScript-SDK popup's call). */
  exchange(this: void, userId: string, body: Record<string, unknown>): Promise<LightMyRequestResponse>;
}

/**
 * Registers a test file's onboarding setup: one harness whose template syncs are recorded, the
 * simulator's onboarding state reset and every client deleted before each test, closed after the file.
 */
export function onboardingSuite(label: string): OnboardingSuite {
  let harness: OnboardingHarness | undefined;
  const syncCalls: OnboardingSuite["syncCalls"] = [];
  const h = () => {
    if (!harness) throw new Error("the onboarding harness is started in the suite's beforeAll");
    return harness;
  };
  beforeAll(async () => {
    harness = await startOnboardingHarness(label, {
      templateSync: {
        syncTemplatesForClient: (c) => {
          syncCalls.push(c);
          return Promise.resolve();
        },
      },
    });
  });
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(async () => {
    await h().control("POST", "/_sim/onboarding/reset");
    await h().db.clients.deleteMany({});
  });
  return {
    get h() {
      return h();
    },
    syncCalls,
    async exchange(userId, body) {
      return h().app.inject({
        method: "POST",
        url: "/api/auth/whatsapp/exchange",
        headers: await authHeader(userId),
        payload: body,
      });
    },
  };
}
