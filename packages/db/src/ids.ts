import { Types } from "mongoose";
import { z } from "zod";
import { InvalidIdError } from "./errors.js";

/** A MongoDB ObjectId written as 24 hex characters (either case). */
export const OBJECT_ID_HEX = /^[0-9a-fA-F]{24}$/;

/** The request-schema field for an id: a 24-character hex string, refused with a clear message otherwise. */
export const objectIdSchema = z.string().regex(OBJECT_ID_HEX, "must be a 24-character hex ObjectId");

/** Turns a string into an ObjectId, refusing anything else (no operator objects, no coercion). */
export function toObjectId(value: unknown, what = "id"): Types.ObjectId {
  if (value instanceof Types.ObjectId) return value;
  if (typeof value === "string" && OBJECT_ID_HEX.test(value)) return new Types.ObjectId(value);
  throw new InvalidIdError(what);
}

export const isObjectIdString = (value: unknown): value is string =>
  typeof value === "string" && OBJECT_ID_HEX.test(value);

/**
 * A filter value for one or more values: an equality when there is one (index-served on MongoDB, and
 * the only form the FerretDB stand-in hands its storage), else `$in`.
 */
export function oneOrIn<T>(values: T[]): T | { $in: T[] } {
  return values.length === 1 ? values[0]! : { $in: values };
}

/** The distinct ids of a list, by value (a Set of ObjectIds would keep equal ones twice). */
export function distinctIds(ids: Types.ObjectId[]): Types.ObjectId[] {
  return [...new Map(ids.map((id) => [id.toHexString(), id])).values()];
}
