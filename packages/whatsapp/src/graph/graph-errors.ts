/**
 * The errors the Graph API client throws. Callers branch on `code` (Meta's error code), never on the
 * HTTP status or the text, which Meta does not keep stable. No error here ever carries an access
 * token or a query string: messages name the method and path only.
 */

/** The shape of Meta's error body: `{ error: { message, type, code, error_subcode, error_data, fbtrace_id } }`. */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_user_title?: string;
  error_user_msg?: string;
  error_data?: { details?: string; [key: string]: unknown } | string;
  fbtrace_id?: string;
  [key: string]: unknown;
}

/** Meta answered with an error body (or a non-2xx status without one). */
export class GraphApiError extends Error {
  /** Stable prefix for logs and dashboards. */
  static readonly errorCode = "GRAPH_ERR_API";
  /** Meta's error code (0/190 token, 4 rate, 100 invalid parameter, 131047 window closed…); -1 when the body had none. */
  readonly code: number;
  readonly subcode: number | null;
  /** Meta's error type, e.g. OAuthException. */
  readonly type: string | null;
  /** A short title: `error_user_title` when Meta gives one, else the type. */
  readonly title: string | null;
  /** `error_data.details`: the most specific explanation Meta gives. */
  readonly details: string | null;
  /** Quote it to Meta's support. */
  readonly fbtraceId: string | null;
  readonly httpStatus: number;
  /** "GET 123/phone_numbers": what was called, without query or token. */
  readonly request: string;

  constructor(init: {
    code: number;
    subcode?: number | null;
    type?: string | null;
    title?: string | null;
    message: string;
    details?: string | null;
    fbtraceId?: string | null;
    httpStatus: number;
    request: string;
  }) {
    super(init.message);
    this.name = "GraphApiError";
    this.code = init.code;
    this.subcode = init.subcode ?? null;
    this.type = init.type ?? null;
    this.title = init.title ?? null;
    this.details = init.details ?? null;
    this.fbtraceId = init.fbtraceId ?? null;
    this.httpStatus = init.httpStatus;
    this.request = init.request;
  }

  /** A plain object for logs, job results and API answers (no token, no stack). */
  toJSON() {
    return {
      name: this.name,
      code: this.code,
      subcode: this.subcode,
      type: this.type,
      title: this.title,
      message: this.message,
      details: this.details,
      fbtraceId: this.fbtraceId,
      httpStatus: this.httpStatus,
      request: this.request,
    };
  }
}

/**
 * The call did not get an answer: connection refused or reset, DNS, TLS, or a timeout. When
 * `mayHaveReachedMeta` is true the request may have been processed (beware of sending twice).
 */
export class GraphNetworkError extends Error {
  static readonly errorCode = "GRAPH_ERR_NETWORK";
  readonly timedOut: boolean;
  readonly mayHaveReachedMeta: boolean;
  readonly request: string;
  /** The underlying error's code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT…). */
  readonly causeCode: string | null;

  constructor(init: {
    message: string;
    request: string;
    timedOut: boolean;
    mayHaveReachedMeta: boolean;
    causeCode: string | null;
    cause?: unknown;
  }) {
    super(init.message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = "GraphNetworkError";
    this.timedOut = init.timedOut;
    this.mayHaveReachedMeta = init.mayHaveReachedMeta;
    this.request = init.request;
    this.causeCode = init.causeCode;
  }

  toJSON() {
    return {
      name: this.name,
      message: this.message,
      request: this.request,
      timedOut: this.timedOut,
      mayHaveReachedMeta: this.mayHaveReachedMeta,
      causeCode: this.causeCode,
    };
  }
}

/** Meta answered 2xx with a body this client cannot use (not JSON, or missing a required field). */
export class GraphResponseError extends Error {
  static readonly errorCode = "GRAPH_ERR_RESPONSE";
  constructor(
    message: string,
    readonly request: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = "GraphResponseError";
  }
}

export type GraphError = GraphApiError | GraphNetworkError | GraphResponseError;

export const isGraphError = (err: unknown): err is GraphError =>
  err instanceof GraphApiError || err instanceof GraphNetworkError || err instanceof GraphResponseError;
