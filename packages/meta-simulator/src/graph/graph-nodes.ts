import type { FastifyReply } from "fastify";
import type { SimContext } from "../simulator.js";

/**
 * Graph addresses objects by id alone (`GET /{id}`, `DELETE /{id}`), whatever they are: a media, a
 * flow… One area owns the `/:version/:id` routes (media); the others register here the ids they own,
 * and the owner hands a request for an id it does not know to them. Kept per simulator (its context),
 * not in SimState, which a reset clears.
 */
export interface GraphNodeOwner {
  /** Handles the call and answers true when `id` is one of this owner's objects. */
  get?(id: string, token: string, reply: FastifyReply): boolean;
  delete?(id: string, token: string, reply: FastifyReply): boolean;
}

const owners = new WeakMap<SimContext, GraphNodeOwner[]>();

export function graphNodeOwners(ctx: SimContext): GraphNodeOwner[] {
  let list = owners.get(ctx);
  if (!list) owners.set(ctx, (list = []));
  return list;
}
