import type { Types } from "mongoose";
import type { Database } from "../database.js";
import { toObjectId } from "../ids.js";
import { KeyedMutex } from "../keyed-mutex.js";
import type { ClientDoc, ClientStatus } from "./client.model.js";
import { userIdString } from "./user-id.js";

/**
 * The persistence of a client's status: one guarded, atomic update that applies a transition the
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
 * One transition of the state machine, as the persistence applies it: the client must match `guard`
 * (and still be in the status it was read in); then the status fields and `set` are written.
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
 * Transitions of one client run one after the other within a process. MongoDB makes the guarded
 * update below atomic across processes; FerretDB v1 (development and CI) does not isolate
 * concurrent updates of one document (see KeyedMutex), and this keeps "announced once" exact there.
 */
const transitions = new KeyedMutex();

/**
 * Applies `t` when the client matches its guard; returns the change (changed: false when the guard
 * did not match), or null when the client does not exist.
 */
export async function applyClientTransition(
  db: Database,
  clientId: Types.ObjectId | string,
  t: ClientTransition,
): Promise<ClientStatusChange | null> {
  const _id = toObjectId(clientId, "clientId");
  return transitions.run(_id.toHexString(), () => guardedTransition(db, _id, t));
}

async function guardedTransition(
  db: Database,
  _id: Types.ObjectId,
  t: ClientTransition,
): Promise<ClientStatusChange | null> {
  const { guard, target, at } = t;
  // Read, then a guarded update that must still match what was read: of concurrent callers exactly
  // one sees modifiedCount 1 (an updateOne is atomic per document, also on FerretDB, whose
  // findAndModify is not), and previousStatus is exact.
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await db.clients.findById(_id, STATUS_PROJECTION).lean<ClientStatusFields>();
    if (!current) return null;
    const res = await db.clients.updateOne(
      { _id, $and: [{ status: current.status }, guard] },
      { $set: transitionFields(t) },
    );
    if (res.modifiedCount === 1) return clientStatusChange(current, target, at, true);
    const now = await db.clients.findById(_id, STATUS_PROJECTION).lean<ClientStatusFields>();
    if (!now) return null;
    // The guard does not match (already there, or a status this transition does not leave): done.
    if (now.status === current.status) return clientStatusChange(now, target, at, false);
    // The status moved between the read and the write: decide again on the new one.
  }
  const last = await db.clients.findById(_id, STATUS_PROJECTION).lean<ClientStatusFields>();
  return last ? clientStatusChange(last, target, at, false) : null;
}
