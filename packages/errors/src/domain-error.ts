/**
 * What an answer may carry beside the code and message for the caller to act on: the field at fault,
 * Meta's error code and trace id, the problems found. Never a secret nor a candidate's personal data.
 */
export type ErrorDetails = Readonly<Record<string, unknown>> | readonly unknown[];

/**
 * A failure a caller can act on, named by a stable `code` (the API's `error.code`, what clients
 * branch on) with a readable message and, optionally, details. Domain code throws these and never
 * says how they travel: the ingress alone turns `catalog` + `code` into an HTTP status
 * (apps/ingress/src/http/error-status.ts).
 */
export abstract class DomainError<C extends string = string> extends Error {
  /** The catalog that defines the code (its class name, e.g. `OptOutError`). */
  abstract readonly catalog: string;

  constructor(
    readonly code: C,
    message: string,
    readonly details?: ErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One domain's codes, each with the message a caller reads when the throw gives none. */
export type ErrorMessages = Readonly<Record<string, string>>;

/** A catalog's error class, as data: its name, its codes and their default messages. */
export interface ErrorCatalog<C extends string = string> {
  readonly catalog: string;
  readonly codes: readonly C[];
  readonly messages: Readonly<Record<C, string>>;
}

const catalogs: ErrorCatalog[] = [];

/**
 * A domain's error catalog as a class (Fastify's lib/errors.js in spirit: every code of a domain in
 * one table, with its default message), minus the HTTP status, which the ingress decides:
 *
 *     export class OptOutError extends defineErrors("OptOutError", {
 *       NO_CANDIDATE: "the request names no candidate",
 *     }) {}
 *     throw new OptOutError("NO_CANDIDATE");
 *
 * Every catalog defined is listed by `errorCatalogs()`, so a test can check that the ingress maps
 * each code (a new code would otherwise reach a client as a 500).
 */
export function defineErrors<const M extends ErrorMessages>(name: string, messages: M) {
  type Code = Extract<keyof M, string>;
  const codes = Object.keys(messages) as Code[];
  const Catalog = class extends DomainError<Code> {
    static readonly catalog = name;
    static readonly codes: readonly Code[] = codes;
    static readonly messages = messages as Readonly<Record<Code, string>>;
    readonly catalog = name;
    constructor(code: Code, message?: string, details?: ErrorDetails, options?: { cause?: unknown }) {
      super(code, message ?? messages[code] ?? code, details, options);
      this.name = name;
    }
  };
  catalogs.push(Catalog);
  return Catalog;
}

/** Every catalog defined so far in this process (those of the modules imported). */
export const errorCatalogs = (): readonly ErrorCatalog[] => catalogs;

/** The codes of a catalog class, as a type. */
export type CodeOf<E extends ErrorCatalog> = E["codes"][number];
