import { createHash } from "node:crypto";
import type { Types } from "mongoose";
import { isDuplicateKeyError, type Database, type WebhookEventKind } from "@linkojob/db";

export interface LoggedEvent {
  kind: WebhookEventKind;
  field: string;
  wabaId?: string | null;
  phoneNumberId?: string | null;
  clientId?: Types.ObjectId | null;
  valid?: boolean;
  problem?: string | null;
  value: unknown;
  eventTime?: Date | null;
}

/**
 * Records the webhook content that is not a routed message or status, once per distinct content
 * (Meta redelivers). Returns the stored document's id and whether this call stored it.
 */
export async function logWebhookEvent(
  db: Database,
  deliveryId: string,
  e: LoggedEvent,
): Promise<{ id: Types.ObjectId; inserted: boolean }> {
  const dedupeKey = createHash("sha256")
    .update(JSON.stringify([e.kind, e.field, e.wabaId ?? null, e.phoneNumberId ?? null, e.eventTime ?? null, e.value]))
    .digest("hex");
  try {
    const doc = await db.webhookEvents.create({
      dedupeKey,
      kind: e.kind,
      field: e.field,
      wabaId: e.wabaId ?? null,
      phoneNumberId: e.phoneNumberId ?? null,
      clientId: e.clientId ?? null,
      valid: e.valid ?? true,
      problem: e.problem ?? null,
      value: e.value,
      eventTime: e.eventTime ?? null,
      deliveryId,
    });
    return { id: doc._id, inserted: true };
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const existing = await db.webhookEvents.findOne({ dedupeKey }, { _id: 1 }).lean();
    return { id: existing!._id, inserted: false };
  }
}
