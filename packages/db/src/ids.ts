import { Types } from "mongoose";
import { InvalidIdError } from "./errors";

/** Turns a string into an ObjectId, refusing anything else (no operator objects, no coercion). */
export function toObjectId(value: unknown, what = "id"): Types.ObjectId {
  if (value instanceof Types.ObjectId) return value;
  if (typeof value === "string" && /^[0-9a-fA-F]{24}$/.test(value)) return new Types.ObjectId(value);
  throw new InvalidIdError(what);
}

export const isObjectIdString = (value: unknown): value is string =>
  typeof value === "string" && /^[0-9a-fA-F]{24}$/.test(value);
