import { envVars as v } from "@linkojob/config";
import { z } from "zod";

/**
 * The media worker's part of the inbound worker's configuration, kept beside the media code and
 * merged into env.ts's shape (which alone reads process.env).
 */
export const mediaEnvShape = {
  META_API_VERSION: v.metaApiVersion,
  META_GRAPH_URL: v.metaGraphUrl,
  /** Decrypts the tenant's access token, which Meta requires for the media URL and the download. */
  TOKEN_ENCRYPTION_KEY: v.tokenEncryptionKey,
  /** Refuse stored tokens not bound to their client (true once cli:reencrypt-tokens has run). Default false. */
  VAULT_REQUIRE_BOUND: v.vaultRequireBound,
  /** Media files fetched at once by this process (each holds a download and a GridFS upload). */
  MEDIA_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
};
