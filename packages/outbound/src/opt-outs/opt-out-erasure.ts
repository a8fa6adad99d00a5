import type { Types } from "mongoose";
import { OPT_OUT_SCOPES, activeScope, optOutRecordsNaming, type Database } from "@linkojob/db";
import { hashedKeyOf, hashedKeyTypeOf, isHashedKey, type IdentifierHash } from "./hashed-identity.js";
import type { OptOutState } from "./opt-out-state.js";

/** The person an erasure removes, in the tenants it covers (@linkojob/privacy's ErasedPerson). */
export interface ErasedCandidate {
  clientIds: Types.ObjectId[];
  phones: string[];
  userIds: string[];
  /** Numbers they held before: opt-outs carried through a number change name them too. */
  formerPhones?: string[];
}

/**
 * What an erasure keeps of a candidate's opt-out (@linkojob/privacy's OptOutKeeper): the register's
 * documents naming them in clear are replaced by documents keyed by the keyed hash of each identity
 * (`hmac:…`, HASHED key types), copied to the send state in Redis, so that the send API's one MGET
 * and the worker's check before the Graph call still refuse a send to that number; the audit trail's
 * records keep their action, scope, source and time, their identities replaced by the same hashes and
 * their wamids and free-text reasons dropped. An identity whose opt-out was lifted leaves no hashed
 * document (nothing to refuse). Idempotent and safe to resume: each hashed document is written (and
 * copied to Redis) before the document in clear is deleted, and the latest change of each scope wins.
 */
export class OptOutErasure {
  constructor(private readonly deps: { db: Database; state: OptOutState }) {}

  /** Returns how many identities' opt-outs are now held as keyed hashes. */
  async keep(person: ErasedCandidate, hasher: IdentifierHash): Promise<number> {
    const { db, state } = this.deps;
    const clear = [...new Set([...person.phones, ...(person.formerPhones ?? []), ...person.userIds])].filter(
      (k) => k && !isHashedKey(k),
    );
    const { docs, changes } = await optOutRecordsNaming(db.optOuts, db.optOutChanges, person.clientIds, clear);
    let kept = 0;
    for (const doc of docs) {
      const repo = db.optOutsOf(doc.clientId);
      const hashed = hashedKeyOf(hasher, doc.key);
      if (activeScope(doc) || (await repo.find([hashed])).length) {
        for (const scope of OPT_OUT_SCOPES) {
          const s = doc[scope];
          if (s) await repo.applyScope([{ key: hashed, keyType: hashedKeyTypeOf(doc.key) }], scope, s);
        }
        await state.write(doc.clientId, await repo.find([hashed]));
        kept++;
      }
      await state.remove(doc.clientId, [doc.key]);
      await repo.removeKeys([doc.key]);
    }
    for (const c of changes)
      await db.optOutsOf(c.clientId).anonymiseChange(
        c._id,
        c.keys.map((k) => (isHashedKey(k) ? k : hashedKeyOf(hasher, k))),
      );
    return kept;
  }
}
