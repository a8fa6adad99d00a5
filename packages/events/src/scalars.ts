import { z } from "zod";

/** Ids and dates as every payload carries them (JSON): 24-hex ids, ISO-8601 dates with an offset. */
export const objectId = z.string().regex(/^[0-9a-f]{24}$/, "a 24-character hex id");
export const isoDate = z.iso.datetime({ offset: true });
