import type { IdentityMove } from "@linkojob/db";
import type { IdentityChange } from "@linkojob/whatsapp";

/**
 * The conversation write of a `system` identity change: a new number moves `candidatePhone`, a new
 * user id moves `candidateUserId`. The conversation document, its key and its messages stay: the
 * history is kept, and the next message under the new id finds it.
 */
export function identityMove(change: IdentityChange): IdentityMove {
  return {
    field: change.kind === "phone" ? "candidatePhone" : "candidateUserId",
    value: change.to,
    ...(change.from ? { previous: change.from } : {}),
  };
}
