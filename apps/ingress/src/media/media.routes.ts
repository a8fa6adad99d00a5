import type { FastifyPluginCallback, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { Types } from "mongoose";
import { z } from "zod";
import { objectIdSchema, mediaBucket, type Database, type MessageDoc } from "@linkojob/db";
import { mediaUrlSchema, type MediaUrlPayload } from "@linkojob/events";
import { notFound } from "../http/errors.js";
import { MediaAccessError } from "./media-access-error.js";
import type { TenantAccess } from "../auth/tenant-access.js";
import type { MediaUrlSigner } from "./media-url-signer.js";
import { contentDisposition, servedContentType } from "./media-headers.js";

export interface MediaRoutesOptions {
  db: Database;
  tenants: TenantAccess;
  signer: MediaUrlSigner;
}

type MediaMessage = Pick<MessageDoc, "_id" | "clientId" | "type" | "media" | "direction">;
const PROJECTION = { _id: 1, clientId: 1, type: 1, media: 1, direction: 1 } as const;
const MEDIA_TYPES = new Set(["image", "video", "audio", "document", "sticker"]);

/**
 * The stored copies of media messages, for the tenant's dashboard only:
 * - `GET /api/media/:messageId` with a JWT (a recruiter sees only its own clients' messages: another
 *   tenant's id is a 404, as for an id that does not exist), or with `?sig&exp` from the URL route;
 * - `GET /api/media/:messageId/url` → a signed URL valid a few minutes, for `<img src>` and links.
 * Streams from GridFS with the stored type and length; pending → 409, failed → 404 with the reason.
 */
export const mediaRoutes: FastifyPluginCallback<MediaRoutesOptions> = (base, { db, tenants, signer }, done) => {
  const app = base.withTypeProvider<ZodTypeProvider>();

  /** The message if the principal's tenant(s) own it; privileged roles may name the client. */
  async function findForPrincipal(
    request: FastifyRequest,
    messageId: string,
    clientId?: string,
  ): Promise<MediaMessage> {
    await app.authenticate(request, undefined as never);
    const _id = new Types.ObjectId(messageId);
    const principal = request.principal;
    let filter: Record<string, unknown>;
    if (principal.role === "recruiter" || clientId) {
      const tenant = clientId ? await tenants.resolve(principal, clientId) : null;
      const owned = tenant ? [tenant.clientId] : await tenants.ownClientIds(principal);
      filter = { _id, clientId: { $in: owned } };
    } else {
      filter = { _id };
    }
    const m = await db.messages.findOne(filter, PROJECTION).lean<MediaMessage>();
    if (!m || !MEDIA_TYPES.has(m.type)) throw notFound("media");
    return m;
  }

  app.get(
    "/api/media/:messageId/url",
    {
      schema: {
        tags: ["media"],
        summary: "A short-lived signed URL of a media message's file (for <img src> and links)",
        params: z.strictObject({ messageId: objectIdSchema }),
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 200: mediaUrlSchema },
      },
    },
    async (request): Promise<MediaUrlPayload> => {
      const m = await findForPrincipal(request, request.params.messageId, request.query.clientId);
      const id = m._id.toHexString();
      const { sig, exp } = signer.sign(id, m.clientId.toHexString());
      return {
        url: `/api/media/${id}?sig=${sig}&exp=${exp}`,
        expiresAt: new Date(exp * 1000).toISOString(),
        status: m.media?.status ?? "pending",
      };
    },
  );

  app.get(
    "/api/media/:messageId",
    {
      schema: {
        tags: ["media"],
        summary: "The file of a media message (JWT, or a signed URL from /api/media/:messageId/url)",
        params: z.strictObject({ messageId: objectIdSchema }),
        querystring: z.strictObject({
          clientId: objectIdSchema.optional(),
          sig: z.string().max(100).optional(),
          exp: z.coerce.number().int().optional(),
        }),
      },
    },
    async (request, reply) => {
      const { messageId } = request.params;
      const { sig, exp } = request.query;
      let m: MediaMessage;
      let maxAge = 300;
      if (sig !== undefined || exp !== undefined) {
        const found = await db.messages
          .findOne({ _id: new Types.ObjectId(messageId) }, PROJECTION)
          .lean<MediaMessage>();
        // The same answer whether the message exists or not: a guessed id learns nothing.
        if (
          !found ||
          sig === undefined ||
          exp === undefined ||
          !signer.verify(messageId, found.clientId.toHexString(), sig, exp)
        ) {
          throw new MediaAccessError("MEDIA_URL_INVALID");
        }
        if (!MEDIA_TYPES.has(found.type)) throw notFound("media");
        m = found;
        maxAge = Math.max(0, exp - Math.floor(Date.now() / 1000));
      } else {
        m = await findForPrincipal(request, messageId, request.query.clientId);
      }

      const media = m.media;
      if (!media || media.status === "pending") {
        throw new MediaAccessError("MEDIA_PENDING", undefined, {
          status: "pending",
          ...(media?.heldReason ? { heldReason: media.heldReason } : {}),
        });
      }
      if (media.status === "failed") {
        throw new MediaAccessError(
          "MEDIA_FAILED",
          `the file could not be fetched from WhatsApp: ${media.error?.reason ?? "unknown reason"}`,
          {
            status: "failed",
            code: media.error?.code ?? null,
          },
        );
      }
      if (!media.fileId)
        throw new MediaAccessError("MEDIA_FAILED", "the file is not stored", { status: "failed", code: null });
      const fileId = new Types.ObjectId(String(media.fileId));
      const [file] = await mediaBucket(db).find({ _id: fileId }).limit(1).toArray();
      if (!file) throw new MediaAccessError("MEDIA_FILE_MISSING");

      const etag = media.sha256 ? `"${media.sha256}"` : null;
      reply
        .header("x-content-type-options", "nosniff")
        // Nothing served here may run as a page of our origin (an HTML or SVG file sent as a document).
        .header("content-security-policy", "default-src 'none'; sandbox")
        .header("cache-control", `private, max-age=${maxAge}`)
        .header("content-disposition", contentDisposition(m.type, media.filename ?? null))
        .header("content-type", servedContentType(media.mimeType ?? null));
      if (etag) reply.header("etag", etag);
      if (etag && request.headers["if-none-match"] === etag) return reply.code(304).send();
      reply.header("content-length", String(file.length));
      return reply.send(mediaBucket(db).openDownloadStream(fileId));
    },
  );
  done();
};
