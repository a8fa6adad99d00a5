import { describe, expect, it } from "vitest";
import { DomainError, defineErrors, errorCatalogs } from "./domain-error.js";

class ShelfError extends defineErrors("ShelfError", {
  SHELF_FULL: "the shelf is full",
  BOOK_MISSING: "no such book",
}) {}

describe("defineErrors", () => {
  it("builds errors with a stable code, the catalog's message unless one is given, details and a cause", () => {
    const cause = new Error("disk");
    const plain = new ShelfError("SHELF_FULL");
    const told = new ShelfError("BOOK_MISSING", "no book 12", { shelf: 3 }, { cause });
    expect(plain).toBeInstanceOf(DomainError);
    expect(plain).toBeInstanceOf(ShelfError);
    expect(plain).toBeInstanceOf(Error);
    expect([plain.name, plain.catalog, plain.code, plain.message, plain.details]).toEqual([
      "ShelfError",
      "ShelfError",
      "SHELF_FULL",
      "the shelf is full",
      undefined,
    ]);
    expect([told.code, told.message, told.details, told.cause]).toEqual([
      "BOOK_MISSING",
      "no book 12",
      { shelf: 3 },
      cause,
    ]);
  });

  it("lists the catalog with its codes", () => {
    const listed = errorCatalogs().find((c) => c.catalog === "ShelfError");
    expect(listed?.codes).toEqual(["SHELF_FULL", "BOOK_MISSING"]);
    expect(ShelfError.messages.BOOK_MISSING).toBe("no such book");
  });
});
