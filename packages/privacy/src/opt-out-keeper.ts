import type { Types } from "mongoose";
import type { IdentifierHasher } from "./keyed-hash.js";

/** The person being erased, in the tenants the erasure covers. */
export interface ErasedPerson {
  clientIds: Types.ObjectId[];
  phones: string[];
  userIds: string[];
  /** Numbers they held before (an opt-out carried through a number change names them too). */
  formerPhones?: string[];
}

/**
 * What must survive an erasure as a keyed hash: the candidate's opt-out, so that a later send to
 * that number is still refused once every record naming them in clear is gone. The erasure calls
 * `keep` before it deletes anything that names the person, and `keep` replaces whatever opt-out
 * records name them in clear by records holding only `hasher.identifier(kind, value)`; it returns how
 * many it kept. It must be idempotent (a retried erasure calls it again).
 *
 * The inbound worker plugs in @linkojob/outbound's OptOutErasure (the register's own home); NO_OPT_OUT
 * (keeps nothing) is for tests of the other steps.
 */
export interface OptOutKeeper {
  keep(person: ErasedPerson, hasher: IdentifierHasher): Promise<number>;
}

export const NO_OPT_OUT: OptOutKeeper = { keep: () => Promise.resolve(0) };
