import Fastify, { type FastifyInstance, type FastifyPluginCallback } from "fastify";
import { areas } from "./areas.js";
import { SimState, type RecordedRequest } from "./state.js";
import { WebhookSender } from "./webhooks/webhook-sender.js";

export interface SimulatorOptions {
  /** Signs the webhooks the simulator sends (the same secret the ingress checks). */
  appSecret: string;
  /** Meta app id the simulator accepts as client_id. */
  appId?: string;
  /** Where webhooks are delivered (the ingress's /webhook). Can be set later. */
  webhookUrl?: string;
  logger?: boolean;
  /**
   * Enforce the customer service window like Meta: a free-form send to a user whose last message to
   * that number (as the simulator delivered it, or was told) is older than 24 h or absent fails with
   * 131047; a `recipient` user id it never saw fails with 131062. Default false: harnesses that seed
   * conversations straight into MongoDB stay accepted.
   */
  enforceWindow?: boolean;
  /** Refuse template sends that do not match a template the simulator knows (132000, 132012, 132001, 132015, 132016). Default false. */
  enforceTemplateParams?: boolean;
}

/** What an area's route plugin receives. */
export interface SimContext {
  state: SimState;
  webhooks: WebhookSender;
  options: SimulatorOptions;
}

/** An area registers its routes synchronously and calls `done`. */
export type SimArea = FastifyPluginCallback<SimContext>;

/**
 * A real HTTP stand-in for Meta: the Graph API endpoints the project calls, and Meta's webhook
 * deliveries. Used by tests, benchmarks and the demo; never by production.
 */
export class MetaSimulator {
  readonly state = new SimState();
  readonly webhooks: WebhookSender;
  readonly app: FastifyInstance;
  url = "";

  private constructor(readonly options: SimulatorOptions) {
    this.webhooks = new WebhookSender(options.appSecret, options.webhookUrl);
    this.app = Fastify({ logger: options.logger ?? false, bodyLimit: 110 * 1024 * 1024 });
  }

  static async create(options: SimulatorOptions): Promise<MetaSimulator> {
    const sim = new MetaSimulator(options);
    // Every Graph call is recorded for assertions; the simulator's own control and probe routes are not.
    const records = new WeakMap<object, RecordedRequest>();
    const recorded = (url: string) => !url.startsWith("/_sim/") && url !== "/health" && url !== "/ready";
    sim.app.addHook("onRequest", (req, _reply, done) => {
      if (!recorded(req.url)) return done();
      const auth = req.headers.authorization;
      const record: RecordedRequest = {
        at: Date.now(),
        method: req.method,
        path: req.url.split("?")[0]!,
        query: req.query as Record<string, unknown>,
        body: undefined,
        ...(auth?.startsWith("Bearer ") ? { token: auth.slice(7) } : {}),
      };
      records.set(req, record);
      sim.state.requests.push(record);
      done();
    });
    // The body is parsed after onRequest: attach it to this request's own record (not "the last one",
    // which under concurrent calls may be another request's).
    sim.app.addHook("preHandler", (req, _reply, done) => {
      const record = records.get(req);
      if (record) record.body = req.body;
      done();
    });
    const ctx: SimContext = { state: sim.state, webhooks: sim.webhooks, options };
    for (const area of areas) await sim.app.register(area, ctx);
    sim.app.get("/_sim/health", () => ({ status: "ok" }));
    return sim;
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    const address = await this.app.listen({ port, host });
    this.url = address;
    return address;
  }

  /** Signs and delivers one webhook payload to the configured target. */
  deliver(payload: unknown, opts: { signature?: string } = {}) {
    return this.webhooks.send(payload, opts);
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
