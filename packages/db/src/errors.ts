/** MongoDB's duplicate key error (E11000), also raised by FerretDB. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

/** A query that names a tenant's document by an id that is not an ObjectId. */
export class InvalidIdError extends Error {
  readonly code = "DB_ERR_INVALID_ID";
  constructor(what: string) {
    super(`${what} is not a valid id`);
    this.name = "InvalidIdError";
  }
}
