/** The part of a pino logger this needs. */
interface ShutdownLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Every process's SIGTERM/SIGINT handling: run `stop` once (stop intake, finish or hand back work in
 * flight, close sockets, then connections — in that order, as `stop` says), exit 0 when it is done,
 * or exit 1 when it takes longer than `timeoutMs` or fails. Work not finished by then is retried
 * elsewhere (BullMQ moves stalled jobs back; Meta retries unacknowledged webhooks).
 */
export function onShutdownSignal(
  logger: ShutdownLogger,
  stop: () => Promise<void>,
  options: { timeoutMs?: number } = {},
): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal, timeoutMs }, "shutting down");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, "shutdown timed out; unfinished work is retried elsewhere");
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await stop();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
