import { z } from "zod";
import { objectIdSchema } from "@linkojob/db";

/**
 * The query fields of a tenant's paged list (`/api/clients/:clientId/…`): the page size and the
 * previous page's `nextCursor` (`<ms>.<24-hex id>`, newest first).
 */
export const pageQueryFields = {
  /** Accepted for clients that add it to every request (the inbox): must name the path's client. */
  clientId: objectIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** The `nextCursor` of the previous page. */
  cursor: z
    .string()
    .regex(/^\d+\.[0-9a-f]{24}$/, "must be a nextCursor")
    .optional(),
};
