import type { FastifyPluginCallback } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { objectIdSchema, toObjectId } from "@linkojob/db";
import {
  CONVERSATION_CHANGES,
  EVENTS,
  conversationUpdated,
  type DashboardEvents,
  conversationJson,
  conversationListSchema,
  conversationPageSchema,
  conversationReadSchema,
  messageJson,
  typingAnswerSchema,
  type ConversationListPayload,
  type ConversationPagePayload,
  type TypingAnswerPayload,
} from "@linkojob/events";
import { notFound } from "../http/errors.js";
import type { TenantAccess } from "../auth/tenant-access.js";
import type { ReadReceipts } from "./read-receipts.js";

export interface ConversationRoutesOptions {
  tenants: TenantAccess;
  events: DashboardEvents;
  /** Read receipts and typing indicators at Meta; without it, reading stays local. */
  receipts?: ReadReceipts;
}

/** Read API of the dashboard: conversations, their messages, and marking them read. */
export const conversationRoutes: FastifyPluginCallback<ConversationRoutesOptions> = (
  base,
  { tenants, events, receipts },
  done,
) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook("preHandler", app.authenticate);

  app.get(
    "/api/messages/conversations",
    {
      schema: {
        tags: ["conversations"],
        summary: "A client's conversations, newest activity first",
        querystring: z.strictObject({
          clientId: objectIdSchema.optional(),
          page: z.coerce.number().int().min(1).max(100_000).default(1),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
        response: { 200: conversationListSchema },
      },
    },
    async (request): Promise<ConversationListPayload> => {
      const tenant = await tenants.resolve(request.principal, request.query.clientId);
      const result = await tenant.conversations.list(request.query.page, request.query.limit);
      return {
        conversations: result.conversations.map(conversationJson),
        total: result.total,
        hasMore: result.hasMore,
      };
    },
  );

  app.get(
    "/api/messages/conversation/:id",
    {
      schema: {
        tags: ["conversations"],
        summary: "One conversation with its messages, newest first, paginated by cursor",
        params: z.strictObject({ id: objectIdSchema }),
        querystring: z.strictObject({
          clientId: objectIdSchema.optional(),
          cursor: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: conversationPageSchema },
      },
    },
    async (request): Promise<ConversationPagePayload> => {
      const id = toObjectId(request.params.id);
      const tenant = await tenants.resolveForConversation(request.principal, id, request.query.clientId);
      const conversation = await tenant.conversations.get(id);
      if (!conversation) throw notFound("conversation");
      const page = await tenant.messages.listByConversation(id, {
        limit: request.query.limit,
        ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
      });
      return {
        conversation: conversationJson(conversation),
        messages: page.messages.map(messageJson),
        nextCursor: page.nextCursor,
        hasMore: page.nextCursor !== null,
      };
    },
  );

  app.patch(
    "/api/messages/conversation/:id/read",
    {
      schema: {
        tags: ["conversations"],
        summary: "Marks everything received so far in a conversation as read",
        params: z.strictObject({ id: objectIdSchema }),
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 200: conversationReadSchema },
      },
    },
    async (request) => {
      const id = toObjectId(request.params.id);
      const tenant = await tenants.resolveForConversation(request.principal, id, request.query.clientId);
      const conversation = await tenant.conversations.markRead(id);
      if (!conversation) throw notFound("conversation");
      // The candidate's latest message is marked read at Meta once (never fails this request).
      await receipts?.markRead(tenant.clientId, id);
      events.toClient(
        tenant.clientId.toHexString(),
        EVENTS.conversationUpdated,
        conversationUpdated(conversationJson(conversation), CONVERSATION_CHANGES.read),
      );
      return { success: true as const };
    },
  );

  app.post(
    "/api/messages/conversation/:id/typing",
    {
      schema: {
        tags: ["conversations"],
        summary:
          "The recruiter is typing: shows the typing indicator to the candidate (at most once per 20 s per conversation)",
        params: z.strictObject({ id: objectIdSchema }),
        querystring: z.strictObject({ clientId: objectIdSchema.optional() }),
        response: { 202: typingAnswerSchema },
      },
    },
    async (request, reply) => {
      const id = toObjectId(request.params.id);
      const tenant = await tenants.resolveForConversation(request.principal, id, request.query.clientId);
      const res = receipts
        ? await receipts.typing(tenant.clientId, id)
        : ({ queued: false, reason: "unavailable" } as const);
      const answer: TypingAnswerPayload = res.queued
        ? { success: true, typing: true }
        : { success: true, typing: false, reason: res.reason };
      return reply.code(202).send(answer);
    },
  );
  done();
};
