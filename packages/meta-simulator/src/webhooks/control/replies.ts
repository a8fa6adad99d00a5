import type { FastifyReply } from "fastify";
import type { z } from "zod";
import {
  NoWebhookTargetError,
  WebhookDeliveryError,
  type DeliveryResult,
  type SendOptions,
  type WebhookSender,
} from "../webhook-sender.js";

/** The control API's error answer: `{ error: { code, message, details? } }`. */
export function sendProblem(reply: FastifyReply, status: number, code: string, message: string, details?: unknown) {
  return reply.code(status).send({ error: { code, message, ...(details !== undefined ? { details } : {}) } });
}

/** Parses with `schema` or answers 400 naming every problem; returns undefined when it answered. */
export function parse<S extends z.ZodType>(
  schema: S,
  input: unknown,
  reply: FastifyReply,
  what = "body",
): z.output<S> | undefined {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({
    path: i.path.length ? i.path.join(".") : what,
    message: i.code === "invalid_type" && i.message.endsWith("received undefined") ? "is required" : i.message,
  }));
  void sendProblem(
    reply,
    400,
    "BAD_REQUEST",
    `invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
    details,
  );
  return undefined;
}

/** The per-call delivery options every delivering body may carry (target, encoding, retry). */
export function sendOptionsOf(b: {
  targetUrl?: string;
  encoding?: SendOptions["encoding"];
  retry?: SendOptions["retry"];
}): SendOptions {
  return {
    ...(b.targetUrl ? { targetUrl: b.targetUrl } : {}),
    ...(b.encoding ? { encoding: b.encoding } : {}),
    ...(b.retry !== undefined ? { retry: b.retry } : {}),
  };
}

/**
 * Delivers and answers with the ingress's answer (`{ ...extra, delivery, payload }`), or 409 when no
 * target is known and 502 when the target could not be reached.
 */
export async function deliverAndReply(
  webhooks: WebhookSender,
  reply: FastifyReply,
  payload: unknown,
  opts: SendOptions,
  extra: Record<string, unknown> = {},
) {
  let result: DeliveryResult;
  try {
    result = await webhooks.send(payload, opts);
  } catch (err) {
    if (err instanceof NoWebhookTargetError) return sendProblem(reply, 409, err.code, err.message);
    if (err instanceof WebhookDeliveryError)
      return sendProblem(reply, 502, err.code, err.message, { attempts: err.attempts });
    throw err;
  }
  return reply.code(200).send({ ...extra, delivery: result, ...(typeof payload === "string" ? {} : { payload }) });
}
