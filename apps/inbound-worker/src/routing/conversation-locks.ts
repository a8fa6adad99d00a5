import type { Logger } from "pino";
import type { RedisLockSet } from "@linkojob/queues";

/** Held for one batch's counter write (under a second); a crashed holder's expire by themselves. */
export const CONVERSATION_LOCK_TTL_MS = 30_000;
/** How long a batch waits for a conversation another worker is writing before its attempt fails. */
export const CONVERSATION_LOCK_WAIT_MS = 20_000;

/** What a caller holds: the conversations it may write now, and how to let them go. */
export interface HeldConversations {
  held: string[];
  release: () => Promise<void>;
}

/**
 * The deployment's conversation locks (one writer per conversation across processes), as the
 * delivery processor takes them. By default only the free ones of the set are taken: a batch writes
 * those, releases them and asks again for the rest, so overlapping batches never wait for each
 * other's whole set. `{ all: true }` waits for every one (a merge of one person's conversations
 * must hold them all at once).
 */
export function conversationLocks(
  locks: RedisLockSet,
  prefix: string,
  logger: Pick<Logger, "warn">,
): (ids: string[], opts?: { all?: boolean }) => Promise<HeldConversations> {
  const keyOf = (id: string) => `${prefix}:lock:conversation:${id}`;
  return async (ids, opts = {}) => {
    const keys = ids.map(keyOf);
    const held = opts.all
      ? await locks.acquire(keys, CONVERSATION_LOCK_TTL_MS, CONVERSATION_LOCK_WAIT_MS)
      : await locks.acquireSome(keys, CONVERSATION_LOCK_TTL_MS, CONVERSATION_LOCK_WAIT_MS);
    const taken = new Set(held.keys);
    return {
      held: ids.filter((id) => taken.has(keyOf(id))),
      release: () =>
        locks.release(held).then(
          () => undefined,
          (err: unknown) => logger.warn({ err }, "conversation locks not released; they expire by themselves"),
        ),
    };
  };
}
