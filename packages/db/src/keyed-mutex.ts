/**
 * Runs tasks that share a key one after the other (tasks with different keys run concurrently).
 *
 * Why, when every write already commutes: MongoDB applies each single-document update atomically,
 * which is all the commuting updates need across processes. FerretDB v1, the MongoDB stand-in of
 * development and CI, does not: its updates read and rewrite the whole document without isolation
 * (measured here: 100 concurrent `$inc` on one document end at 3 with the SQLite backend and 14 with
 * PostgreSQL). Serialising writes to one document inside a process keeps results exact there too,
 * and costs nothing that matters on MongoDB. The inbound worker no longer needs it: it writes one
 * batch at a time, each document once per batch (the conversation batch, the status batch).
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
