import { TRANSIENT_SERVER_CODES } from "@linkojob/db";

/**
 * Whether a failure of a delivery's processing can go away by itself.
 * - `transient`: the database, Redis or the network (connection lost, server selection timed out,
 *   a server stepping down or shutting down, FerretDB losing PostgreSQL): retried with backoff, for a
 *   bounded number of attempts;
 * - `deterministic`: the same input fails the same way every time (validation, cast, a document the
 *   server refuses, a BSON error, a TypeError or RangeError of our code on that delivery): never
 *   retried, it becomes a dead letter at once.
 * An error of an unknown kind counts as transient: it gets the bounded retries, then a dead letter.
 */
export type FailureClass = { kind: "transient" | "deterministic"; name: string; code: string | number | null };

/** Failures of our own making that retrying cannot change. */
const DETERMINISTIC_NAMES = new Set([
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "ValidationError",
  "CastError",
  "StrictModeError",
  "ObjectParameterError",
  "BSONError",
  "BSONVersionError",
  "BSONRuntimeError",
  "MongoInvalidArgumentError",
  "MongoParseError",
  "MongoCompatibilityError",
  "InvalidDeliveryError",
  "DeterministicFailure",
]);

/** Driver errors about the connection or the topology: the request may work on the next attempt. */
const TRANSIENT_NAMES = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongooseServerSelectionError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
  "MongoPoolClearedError",
  "PoolClearedError",
  "PoolClearedOnNetworkError",
  "MongoWaitQueueTimeoutError",
  "WaitQueueTimeoutError",
  "MongoWriteConcernError",
  "MongoUnexpectedServerResponseError",
  "MaxRetriesPerRequestError",
  "ReplyError",
  "AbortError",
  "ClusterAllFailedError",
  "CountPendingError",
]);

const RETRYABLE_LABELS = [
  "RetryableWriteError",
  "ResetPool",
  "TransientTransactionError",
  "NetworkError",
  "InterruptInUseConnection",
];

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  errorLabelSet?: Set<string>;
  errorLabels?: string[];
  writeErrors?: unknown;
  writeConcernError?: unknown;
  cause?: unknown;
}

function labelsOf(e: ErrorLike): string[] {
  if (e.errorLabelSet instanceof Set) return [...e.errorLabelSet];
  return Array.isArray(e.errorLabels) ? e.errorLabels : [];
}

function writeErrorCodes(e: ErrorLike): number[] {
  const list = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
  return list.map((w) => (w as { code?: unknown }).code).filter((c): c is number => typeof c === "number");
}

export function classifyFailure(err: unknown): FailureClass {
  if (!(err instanceof Error)) return { kind: "transient", name: typeof err, code: null };
  const e = err as Error & ErrorLike;
  const name = e.name || err.constructor?.name || "Error";
  const code = typeof e.code === "number" || typeof e.code === "string" ? e.code : null;
  const out = (kind: FailureClass["kind"]) => ({ kind, name, code });
  if (DETERMINISTIC_NAMES.has(name) || DETERMINISTIC_NAMES.has(err.constructor?.name ?? ""))
    return out("deterministic");
  if (TRANSIENT_NAMES.has(name) || TRANSIENT_NAMES.has(err.constructor?.name ?? "")) return out("transient");
  if (labelsOf(e).some((l) => RETRYABLE_LABELS.includes(l))) return out("transient");
  if (e.writeConcernError) return out("transient");
  // A bulk write: deterministic only when every write error refuses its document.
  const codes = writeErrorCodes(e);
  if (codes.length) return out(codes.some((c) => TRANSIENT_SERVER_CODES.has(c)) ? "transient" : "deterministic");
  // A command the server answered with an error about the request itself.
  if (name === "MongoServerError" || name === "MongoBulkWriteError" || name === "MongoError") {
    return out(typeof e.code === "number" && !TRANSIENT_SERVER_CODES.has(e.code) ? "deterministic" : "transient");
  }
  return out("transient");
}

/** A failure that is deterministic by our own decision (e.g. a document the server refused in a batch). */
export class DeterministicFailure extends Error {
  constructor(
    message: string,
    readonly code: string | number | null = null,
  ) {
    super(message);
    this.name = "DeterministicFailure";
  }
}
