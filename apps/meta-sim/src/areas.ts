import type { SimArea } from "./simulator";

/**
 * The simulator's route plugins, one per area of the Graph API / Meta behaviour. Each area's file
 * owns its routes and its part of SimState (state.area(name, init)). Add an area by listing it here.
 */
export const areas: SimArea[] = [];
