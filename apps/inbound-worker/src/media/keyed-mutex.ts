/**
 * Runs tasks that share a key one after the other (tasks with different keys run concurrently), within
 * this process. The media fetcher keys it by message: two fetches of one message that overlap here (a
 * retried job, a resumed hold) record their outcome one after the other, and the second sees what the
 * first wrote. Across processes the guarded update of that record decides on its own.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
