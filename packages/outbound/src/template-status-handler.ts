import type { Database } from "@linkojob/db";
import { templateStatusValueSchema } from "@linkojob/whatsapp";
import { publishTemplatesChanged, type Publisher } from "./send-caches";

/** The fields of an `account`-kind webhook event this handler reads (apps/inbound-worker AccountEvent). */
export interface TemplateStatusEvent {
  wabaId: string;
  field: string;
  value: unknown;
}

/**
 * `message_template_status_update` (meta-cloud-api.md §6): APPROVED, REJECTED, PAUSED, DISABLED…
 * updates the stored template of that WABA, name and language, so the next send checks the new status
 * locally. Idempotent (a set, not an increment). Shaped as the inbound worker's AccountEventHandler.
 * With a `publisher`, every process's SendCaches drops that WABA's templates (`templates:changed`);
 * without one, caches see the change when their entries expire.
 */
export function createTemplateStatusHandler(deps: { publisher?: Publisher } = {}) {
  return async (event: TemplateStatusEvent, ctx: { db: Database }): Promise<void> => {
    const v = templateStatusValueSchema.safeParse(event.value);
    if (!v.success) return;
    await ctx.db.templatesForWaba(event.wabaId).applyStatusEvent({
      name: v.data.message_template_name,
      language: v.data.message_template_language,
      event: v.data.event,
      reason: v.data.reason ?? null,
      metaId: v.data.message_template_id,
      ...(v.data.message_template_category ? { category: v.data.message_template_category } : {}),
    });
    if (deps.publisher) await publishTemplatesChanged(deps.publisher, event.wabaId);
  };
}
