import { defineErrors } from "@linkojob/errors";

/** MongoDB's duplicate key error (E11000), also raised by FerretDB. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

/** What the data layer refuses from a caller: the persistence layer's error catalog. */
export class DbError extends defineErrors("DbError", {
  DB_ERR_INVALID_ID: "an id is not a valid ObjectId",
  DB_ERR_INVALID_CURSOR: "cursor is not one this API returned",
}) {}

/** A query that names a tenant's document by an id that is not an ObjectId. */
export class InvalidIdError extends DbError {
  constructor(what: string) {
    super("DB_ERR_INVALID_ID", `${what} is not a valid id`);
    this.name = "InvalidIdError";
  }
}
