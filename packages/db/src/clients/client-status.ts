import type { Types } from "mongoose";
import type { Database } from "../database.js";
import { oneWriterPerDocument } from "../ferretdb-adapter.js";
import { toObjectId } from "../ids.js";
import type { ClientDoc, ClientStatus } from "./client.model.js";
import { userIdString } from "./user-id.js";

/**
 * The persistence of a client's status: one conditional, atomic write that applies a transition the
 * client lifecycle decided (its state machine, the reading of Meta's account_update and the token
 * expiry rules live in @linkojob/outbound's client-lifecycle). Calling it again, or concurrently,
 * changes nothing and reports `changed: false`, so each change is announced once.
 */

export interface ClientStatusChange {
  clientId: string;
  userId: string;
  phoneNumberId: string;
  wabaId: string;
  status: ClientStatus;
  previousStatus: ClientStatus;
  reason: string | null;
  detail: string | null;
  at: Date;
  /** False when the client already was in that status: nothing to announce. */
  changed: boolean;
}

export type ClientStatusFields = Pick<
  ClientDoc,
  "_id" | "userId" | "phoneNumberId" | "wabaId" | "status" | "statusReason" | "statusDetail"
>;
const STATUS_PROJECTION = {
  _id: 1,
  userId: 1,
  phoneNumberId: 1,
  wabaId: 1,
  status: 1,
  statusReason: 1,
  statusDetail: 1,
} as const;

/** Where a transition leads: the status, why, and the human-readable detail. */
export interface ClientStatusTarget {
  status: ClientStatus;
  reason: string | null;
  detail: string | null;
}

/**
 * One transition of the state machine, as the persistence applies it: when the client matches
 * `guard` (checked by the write itself), the status fields and `set` are written.
 */
export interface ClientTransition {
  guard: Record<string, unknown>;
  target: ClientStatusTarget;
  /** Other fields the transition writes (timestamps, the wiped token…). */
  set: Record<string, unknown>;
  at: Date;
}

/** The fields a transition writes: the status, its reason, detail and time, and the transition's own. */
export function transitionFields(t: ClientTransition): Record<string, unknown> {
  return {
    status: t.target.status,
    statusReason: t.target.reason,
    statusDetail: t.target.detail,
    statusChangedAt: t.at,
    ...t.set,
  };
}

/** The change `after` makes to a client read as `before` (`changed: false`: it stays as it was). */
export function clientStatusChange(
  before: ClientStatusFields,
  after: ClientStatusTarget,
  at: Date,
  changed: boolean,
): ClientStatusChange {
  return {
    clientId: before._id.toHexString(),
    userId: userIdString(before.userId),
    phoneNumberId: before.phoneNumberId,
    wabaId: before.wabaId,
    status: changed ? after.status : before.status,
    previousStatus: before.status,
    reason: changed ? after.reason : (before.statusReason ?? null),
    detail: changed ? after.detail : (before.statusDetail ?? null),
    at,
    changed,
  };
}

/**
 * Applies `t` when the client matches its guard; returns the change (changed: false when the guard
 * did not match), or null when the client does not exist.
 *
 * One conditional write: MongoDB applies a findAndModify atomically per document, so of concurrent
 * transitions of one client (in one process or many) each sees the status the one before it left,
 * and a status is entered, and announced, once. Its "before" document is the client as the write
 * found it: `previousStatus`. A matching guard always writes (the status time, and Mongoose's
 * `updatedAt`), so it reports `changed: true`, also for a guard that lets a client stay in its status
 * (the lifecycle's guards all leave their target out). A guard that does not match writes nothing:
 * one read reports the client as it is, `changed: false`. (On the FerretDB stand-in alone, whose
 * findAndModify is not atomic, `oneWriterPerDocument` runs one transition of a client at a time in
 * this process.)
 */
export async function applyClientTransition(
  db: Database,
  clientId: Types.ObjectId | string,
  t: ClientTransition,
): Promise<ClientStatusChange | null> {
  const _id = toObjectId(clientId, "clientId");
  return oneWriterPerDocument(db.connection, `clients:${_id.toHexString()}`, () => transition(db, _id, t));
}

async function transition(db: Database, _id: Types.ObjectId, t: ClientTransition): Promise<ClientStatusChange | null> {
  const before = await db.clients
    .findOneAndUpdate(
      { $and: [{ _id }, t.guard] },
      { $set: transitionFields(t) },
      // The whole document comes back: a client is small and transitions are rare, and FerretDB v1
      // (the stand-in of development and CI) refuses a projection on findAndModify.
      { returnDocument: "before" },
    )
    .lean<ClientStatusFields>();
  if (before) return clientStatusChange(before, t.target, t.at, true);
  const now = await db.clients.findById(_id, STATUS_PROJECTION).lean<ClientStatusFields>();
  return now ? clientStatusChange(now, t.target, t.at, false) : null;
}
