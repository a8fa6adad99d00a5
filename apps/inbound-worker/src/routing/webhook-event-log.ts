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
  /** Where in the delivery it was (`$.entry[0].changes[1]…`): malformed parts of equal content at different places are distinct. */
  location?: { path: string; entry?: number; change?: number; index?: number } | null;
}

/**
 * Records the webhook content that is not a routed message or status, once per distinct content
 * (Meta redelivers). A malformed part is distinct by its place and its problem too: two bad parts
 * of equal content (two `null`s) are two records. Returns the stored document's id and whether this
 * call stored it.
 */
export async function logWebhookEvent(
  db: Database,
  deliveryId: string,
  e: LoggedEvent,
): Promise<{ id: Types.ObjectId; inserted: boolean }> {
  const content: unknown[] = [e.kind, e.field, e.wabaId ?? null, e.phoneNumberId ?? null, e.eventTime ?? null, e.value];
  if (e.kind === "malformed") content.push(e.problem ?? null, e.location?.path ?? null);
  const dedupeKey = createHash("sha256").update(JSON.stringify(content)).digest("hex");
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
      ...(e.location ? { location: e.location } : {}),
      deliveryId,
    });
    return { id: doc._id, inserted: true };
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const existing = await db.webhookEvents.findOne({ dedupeKey }, { _id: 1 }).lean();
    return { id: existing!._id, inserted: false };
  }
}
