import { describe, expect, it } from "vitest";
import { KeyedMutex } from "./keyed-mutex.js";

/** A promise resolved from outside, to hold a task open. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("KeyedMutex", () => {
  it("runs tasks of one key one after the other, in call order, and tasks of other keys meanwhile", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const first = gate();
    const a1 = mutex.run("a", async () => {
      log.push("a1 start");
      await first.opened;
      log.push("a1 end");
    });
    const a2 = mutex.run("a", () => Promise.resolve(void log.push("a2")));
    await mutex.run("b", () => Promise.resolve(void log.push("b")));
    expect(log).toEqual(["a1 start", "b"]);
    expect(mutex.size).toBe(1);
    first.open();
    await Promise.all([a1, a2]);
    expect(log).toEqual(["a1 start", "b", "a1 end", "a2"]);
    expect(mutex.size).toBe(0);
  });

  it("a failed task rejects its own caller only: the next task of the key still runs", async () => {
    const mutex = new KeyedMutex();
    const failed = mutex.run("a", () => Promise.reject(new Error("boom")));
    const next = mutex.run("a", () => Promise.resolve(42));
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe(42);
    expect(mutex.size).toBe(0);
  });
});
