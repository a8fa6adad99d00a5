import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.js";

describe("GroupCommit", () => {
  it("flushes a lone item at once and groups what arrives while a flush runs", async () => {
    const flushes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = new GroupCommit<number>(async (items) => {
      flushes.push(items);
      if (flushes.length === 1) await gate;
    });
    const first = g.add(1);
    const rest = [g.add(2), g.add(3), g.add(4)];
    expect(flushes).toEqual([[1]]);
    release();
    await Promise.all([first, ...rest]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it("rejects exactly the callers of a failed flush", async () => {
    let calls = 0;
    const g = new GroupCommit<string>(() => {
      calls++;
      return calls === 1 ? Promise.reject(new Error("write refused")) : Promise.resolve();
    });
    const failed = g.add("a");
    await expect(failed).rejects.toThrow("write refused");
    await expect(g.add("b")).resolves.toBeUndefined();
  });

  it("cuts groups at maxBatch", async () => {
    const sizes: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = new GroupCommit<number>(async (items) => {
      sizes.push(items.length);
      if (sizes.length === 1) await gate;
    }, 2);
    const all = [0, 1, 2, 3, 4].map((i) => g.add(i));
    release();
    await Promise.all(all);
    expect(sizes).toEqual([1, 2, 2]);
  });
});
