import type { IdentityMove } from "@linkojob/db";
import type { IdentityChange } from "@linkojob/whatsapp";

/**
 * The conversation writes of a `system` identity change: a new number moves `candidatePhone` (and
 * `candidateUserId` when the user id was regenerated with it), a new user id moves
 * `candidateUserId`. The conversation document, its key and its messages stay: the history is kept,
 * and the next message under the new id finds it.
 */
export function identityMove(change: IdentityChange): IdentityMove[] {
  const moves: IdentityMove[] = [
    {
      field: change.kind === "phone" ? "candidatePhone" : "candidateUserId",
      value: change.to,
      ...(change.from ? { previous: change.from } : {}),
    },
  ];
  if (change.userId)
    moves.push({
      field: "candidateUserId",
      value: change.userId.to,
      ...(change.userId.from ? { previous: change.userId.from } : {}),
    });
  return moves;
}
