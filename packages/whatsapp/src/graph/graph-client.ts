import { Pool, type Dispatcher } from "undici";
import { GraphApiError, GraphNetworkError, GraphResponseError, type GraphErrorBody } from "./graph-errors.js";

export interface GraphClientOptions {
  /** Base URL of the Graph API (META_GRAPH_URL): https://graph.facebook.com, or the simulator. */
  baseUrl: string;
  /** Graph API version (META_API_VERSION), e.g. v26.0. */
  version: string;
  /** Keep-alive connections to Meta. Default 32 (sends are pooled; one TLS handshake per connection). */
  connections?: number;
  /** TCP + TLS connect timeout. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Time to the response headers. Default 20 000 ms (Meta answers most calls in well under a second). */
  headersTimeoutMs?: number;
  /** Time between two body chunks. Default 20 000 ms. */
  bodyTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this. Default 30 000 ms. */
  keepAliveTimeoutMs?: number;
  /** Use this dispatcher instead of a pool of the client's own (the client then does not close it). */
  dispatcher?: Dispatcher;
  /**
   * Told about every call once it has ended (success or failure), e.g. for metrics. Must be cheap and
   * synchronous; what it throws is ignored. It never sees a token, a body or a query. Default none.
   */
  observer?: (call: GraphCallObservation) => void;
}

/** One finished Graph call, as reported to GraphClientOptions.observer. */
export interface GraphCallObservation {
  method: HttpMethod;
  /** Path relative to the version, without query ("106540352242922/messages"). */
  path: string;
  /** "ok", Meta's error code ("131047"), "http_<status>" (no Graph error body), "timeout", "network" or "bad_response". */
  code: string;
  durationMs: number;
}

export type GraphQuery = Record<string, string | number | boolean | null | undefined>;

export interface GraphRequestOptions {
  /** Bearer token (a business token, or `appId|appSecret` for app calls). Never logged, never in a URL. */
  token?: string;
  query?: GraphQuery;
  /** JSON body (Content-Type: application/json). */
  json?: unknown;
  /** Form body (application/x-www-form-urlencoded). */
  form?: Record<string, string | number | boolean | undefined>;
  /** Any other body (e.g. undici FormData for a media upload) with its own headers. */
  body?: string | Uint8Array | Buffer | FormData;
  headers?: Record<string, string>;
  /** Per-call overrides of the client's timeouts. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Values to scrub from error messages besides the token (e.g. a client secret or an input token
   * sent in the query). Graph never echoes them, but a proxy or a simulator might.
   */
  secrets?: string[];
}

export type HttpMethod = "GET" | "POST" | "DELETE" | "PUT" | "PATCH";

/**
 * Builds a Graph path from segments, encoding each one (ids come from outside: no `/` or `?` gets
 * through). A segment that is empty, `.` or `..` is refused: encodeURIComponent leaves dots alone, and
 * URL resolution would walk `..` out of the version (a media id `..` taking the tenant's token to
 * another Graph path).
 */
export const graphPath = (...segments: Array<string | number>): string =>
  segments
    .map((s) => {
      const text = String(s);
      if (text === "" || text === "." || text === "..")
        throw new RangeError(`a Graph path segment may not be ${text === "" ? "empty" : `"${text}"`}`);
      return encodeURIComponent(text);
    })
    .join("/");

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);
/** Errors that happen before a byte of the request can have reached Meta. */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "CERT_HAS_EXPIRED",
]);

/**
 * A small, generic client of the Graph API over a pooled keep-alive undici connection. It knows
 * nothing of particular endpoints: onboarding calls live in onboarding-api.ts, messaging calls in
 * their own files. Every failure is a GraphApiError (Meta's error body parsed), a GraphNetworkError
 * (no answer) or a GraphResponseError (an answer it cannot read); none carries a token.
 */
export class GraphClient {
  readonly version: string;
  private readonly origin: string;
  private readonly pathPrefix: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly headersTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly observer: GraphClientOptions["observer"];
  private closed = false;

  constructor(options: GraphClientOptions) {
    const base = new URL(options.baseUrl);
    this.origin = base.origin;
    this.pathPrefix = base.pathname.replace(/\/+$/, "");
    this.version = options.version;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 20_000;
    this.bodyTimeoutMs = options.bodyTimeoutMs ?? 20_000;
    this.observer = options.observer;
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Pool(this.origin, {
        connections: options.connections ?? 32,
        pipelining: 1,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
        connect: { timeout: options.connectTimeoutMs ?? 5_000 },
        headersTimeout: this.headersTimeoutMs,
        bodyTimeout: this.bodyTimeoutMs,
      });
      this.ownsDispatcher = true;
    }
  }

  /** The full URL of a path (without query), for diagnostics. */
  urlOf(path: string): string {
    return `${this.origin}${this.fullPath(path)}`;
  }

  /**
   * Calls `{baseUrl}/{version}/{path}` and returns the parsed JSON body of a 2xx answer (undefined
   * for an empty one). `path` is relative to the version ("debug_token", "123/phone_numbers"); build
   * it with graphPath() when it contains outside values.
   */
  async request<T = unknown>(method: HttpMethod, path: string, options: GraphRequestOptions = {}): Promise<T> {
    if (!this.observer) return this.perform<T>(method, path, options);
    const started = performance.now();
    const report = (code: string) => {
      try {
        this.observer?.({
          method,
          path: path.replace(/^\/+/, "").split("?")[0]!,
          code,
          durationMs: performance.now() - started,
        });
      } catch {
        // an observer's failure must not change the call's outcome
      }
    };
    try {
      const result = await this.perform<T>(method, path, options);
      report("ok");
      return result;
    } catch (err) {
      report(observedCode(err));
      throw err;
    }
  }

  private async perform<T>(method: HttpMethod, path: string, options: GraphRequestOptions): Promise<T> {
    if (this.closed) throw new Error("GraphClient is closed");
    const what = `${method} ${path.replace(/^\/+/, "")}`;
    const secrets = [options.token, ...(options.secrets ?? [])].filter((s): s is string => !!s && s.length >= 4);

    const headers: Record<string, string> = { accept: "application/json", ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: Dispatcher.DispatchOptions["body"] | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = toSearchParams(options.form).toString();
    } else if (options.body !== undefined) {
      body = options.body;
    }

    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: this.origin,
        method,
        path: this.fullPath(path) + queryString(options.query),
        headers,
        body: body ?? null,
        headersTimeout: options.headersTimeoutMs ?? this.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs ?? this.bodyTimeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      throw networkError(err, what, secrets);
    }

    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw networkError(err, what, secrets);
    }

    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (text.trim() === "") return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new GraphResponseError(
          `${what} answered ${res.statusCode} with a body that is not JSON`,
          what,
          res.statusCode,
        );
      }
    }
    throw apiError(res.statusCode, text, what, secrets);
  }

  get<T = unknown>(path: string, options?: GraphRequestOptions) {
    return this.request<T>("GET", path, options);
  }
  post<T = unknown>(path: string, options?: GraphRequestOptions) {
    return this.request<T>("POST", path, options);
  }
  delete<T = unknown>(path: string, options?: GraphRequestOptions) {
    return this.request<T>("DELETE", path, options);
  }

  /** Closes the pool (waits for requests in flight). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private fullPath(path: string): string {
    return `${this.pathPrefix}/${this.version}/${path.replace(/^\/+/, "")}`;
  }
}

function observedCode(err: unknown): string {
  if (err instanceof GraphApiError) return err.code === -1 ? `http_${err.httpStatus}` : String(err.code);
  if (err instanceof GraphNetworkError) return err.timedOut ? "timeout" : "network";
  if (err instanceof GraphResponseError) return "bad_response";
  return "error";
}

function toSearchParams(values: Record<string, string | number | boolean | null | undefined>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null) params.set(k, String(v));
  return params;
}

function queryString(query: GraphQuery | undefined): string {
  if (!query) return "";
  const s = toSearchParams(query).toString();
  return s ? `?${s}` : "";
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("[redacted]");
  return out;
}

function apiError(status: number, text: string, what: string, secrets: string[]): GraphApiError {
  let parsed: { error?: GraphErrorBody } | undefined;
  try {
    parsed = JSON.parse(text) as { error?: GraphErrorBody };
  } catch {
    parsed = undefined;
  }
  const e =
    parsed && typeof parsed === "object" && parsed.error && typeof parsed.error === "object" ? parsed.error : undefined;
  if (!e) {
    return new GraphApiError({
      code: -1,
      message: `${what} answered HTTP ${status} without a Graph error body`,
      httpStatus: status,
      request: what,
    });
  }
  const details =
    typeof e.error_data === "string"
      ? e.error_data
      : typeof e.error_data?.details === "string"
        ? e.error_data.details
        : null;
  return new GraphApiError({
    code: typeof e.code === "number" ? e.code : Number.isFinite(Number(e.code)) ? Number(e.code) : -1,
    subcode: typeof e.error_subcode === "number" ? e.error_subcode : null,
    type: typeof e.type === "string" ? e.type : null,
    title:
      typeof e.error_user_title === "string"
        ? scrub(e.error_user_title, secrets)
        : typeof e.type === "string"
          ? e.type
          : null,
    message: scrub(
      typeof e.message === "string" && e.message ? e.message : `${what} failed with HTTP ${status}`,
      secrets,
    ),
    details: details === null ? null : scrub(details, secrets),
    fbtraceId: typeof e.fbtrace_id === "string" ? e.fbtrace_id : null,
    httpStatus: status,
    request: what,
  });
}

function networkError(err: unknown, what: string, secrets: string[]): GraphNetworkError {
  const code = typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : null;
  const causeCode =
    code ??
    (typeof (err as { cause?: { code?: unknown } })?.cause?.code === "string"
      ? (err as { cause: { code: string } }).cause.code
      : null);
  const timedOut = causeCode !== null && TIMEOUT_CODES.has(causeCode);
  const aborted = (err as { name?: string })?.name === "AbortError" || causeCode === "UND_ERR_ABORTED";
  const message = scrub(err instanceof Error ? err.message : String(err), secrets);
  return new GraphNetworkError({
    message: `${what} ${timedOut ? "timed out" : aborted ? "was aborted" : "failed"}: ${message}`,
    request: what,
    timedOut,
    mayHaveReachedMeta: !(causeCode !== null && NOT_SENT_CODES.has(causeCode)),
    causeCode,
  });
}
