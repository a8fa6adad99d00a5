import { Types } from "mongoose";
import { OBJECT_ID_HEX } from "../ids.js";

/**
 * The platform user (recruiter) who owns a client, as stored in `clients.userId`. The platform's
 * collection declares it an ObjectId (a reference to the main platform's users); documents written by
 * this gateway before, or by a platform whose user ids are not ObjectIds, hold a string. Both forms
 * are the same user when the string is the ObjectId's hex: the JWT `sub` is always that string.
 */
export type UserId = string | Types.ObjectId;

function isObjectId(v: unknown): v is Types.ObjectId {
  return (
    v instanceof Types.ObjectId ||
    (typeof v === "object" && v !== null && (v as { _bsontype?: unknown })._bsontype === "ObjectId")
  );
}

/** A storable user id: an ObjectId or a non-empty string. */
export function isUserId(v: unknown): v is UserId {
  return isObjectId(v) || (typeof v === "string" && v.length > 0);
}

/**
 * The form to store for a user id given as a string (a JWT `sub`, an operator's input): an ObjectId
 * when it is 24 hex characters (the platform's form), the string itself otherwise.
 */
export function userIdValue(sub: string): UserId {
  return OBJECT_ID_HEX.test(sub) ? new Types.ObjectId(sub) : sub;
}

/** The user id as a string: an ObjectId's lowercase hex, a string as it is. For API answers and logs. */
export function userIdString(v: UserId): string {
  return isObjectId(v) ? v.toHexString() : String(v);
}

/** One comparison key per user: both forms of a 24-hex id compare equal (case-insensitively, like ObjectIds). */
function key(v: unknown): string | null {
  if (isObjectId(v)) return v.toHexString();
  if (typeof v !== "string" || v === "") return null;
  return OBJECT_ID_HEX.test(v) ? v.toLowerCase() : v;
}

/** True when `a` and `b` name the same user, whatever form each is stored or given in. */
export function sameUser(a: unknown, b: unknown): boolean {
  const ka = key(a);
  return ka !== null && ka === key(b);
}

/**
 * A query condition on `userId` matching the clients of `sub` in every stored form: the string as
 * given, and for a 24-hex id its lowercase string and its ObjectId. The `{ userId: 1 }` index serves it.
 */
export function userIdFilter(sub: string): { $in: UserId[] } {
  if (!OBJECT_ID_HEX.test(sub)) return { $in: [sub] };
  const forms: UserId[] = [sub];
  if (sub.toLowerCase() !== sub) forms.push(sub.toLowerCase());
  forms.push(new Types.ObjectId(sub));
  return { $in: forms };
}
