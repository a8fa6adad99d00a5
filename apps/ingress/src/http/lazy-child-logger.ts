import type { FastifyBaseLogger } from "fastify";

type Bindings = Record<string, unknown>;
type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
/**
 * A pino log method seen as taking any arguments: pino's LogFn overloads cannot be called with a
 * spread of `unknown[]` (TS2556), and every LogFn is assignable to this type, so no assertion.
 */
type LogMethod = (this: FastifyBaseLogger, ...args: unknown[]) => void;

/** Calls the logger's method as itself (`this`) with the caller's arguments. */
function write(logger: FastifyBaseLogger, level: Level, args: unknown[]): void {
  const method: LogMethod = logger[level];
  method.apply(logger, args);
}

/**
 * Fastify makes a child logger (with the request id) for every request. Most requests — every
 * acknowledged webhook — never log, and pino's child() costs about a microsecond and some garbage
 * each time; this one is made on the first log call only. Same bindings, same output.
 */
class LazyChildLogger {
  private made: FastifyBaseLogger | null = null;
  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: object,
  ) {}
  private get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }
  get level(): string {
    return this.made?.level ?? this.parent.level;
  }
  set level(value: string) {
    this.real.level = value;
  }
  fatal(...args: unknown[]) {
    write(this.real, "fatal", args);
  }
  error(...args: unknown[]) {
    write(this.real, "error", args);
  }
  warn(...args: unknown[]) {
    write(this.real, "warn", args);
  }
  info(...args: unknown[]) {
    write(this.real, "info", args);
  }
  debug(...args: unknown[]) {
    write(this.real, "debug", args);
  }
  trace(...args: unknown[]) {
    write(this.real, "trace", args);
  }
  silent(...args: unknown[]) {
    write(this.real, "silent", args);
  }
  child(bindings: Bindings, options?: object): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

export const lazyChildLoggerFactory = (
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: object,
): FastifyBaseLogger => new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
