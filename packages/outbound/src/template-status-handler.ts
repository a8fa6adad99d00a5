import { z } from "zod";
import type { Database } from "@linkojob/db";
import { templateStatusValueSchema } from "@linkojob/whatsapp";
import { publishTemplatesChanged, type Publisher } from "./send-caches.js";
import type { SendState } from "./send-state.js";

/** The fields of an `account`-kind webhook event this handler reads (apps/inbound-worker AccountEvent). */
export interface TemplateStatusEvent {
  wabaId: string;
  field: string;
  value: unknown;
}

const id = z.union([z.number(), z.string()]).transform(String);

/**
 * `template_category_update`: Meta changed a template's category (the price follows). `new_category`
 * is the category in force; a value with only `correct_category` announces a change to come and
 * changes nothing yet.
 */
const categoryUpdateSchema = z.looseObject({
  message_template_id: id.optional(),
  message_template_name: z.string(),
  message_template_language: z.string(),
  previous_category: z.string().optional(),
  new_category: z.string().optional(),
  correct_category: z.string().optional(),
});

/** `message_template_quality_update`: the template's quality score changed (GREEN, YELLOW, RED, UNKNOWN). */
const qualityUpdateSchema = z.looseObject({
  message_template_id: id.optional(),
  message_template_name: z.string(),
  message_template_language: z.string(),
  previous_quality_score: z.string().optional(),
  new_quality_score: z.string(),
});

export interface TemplateStatusHandlerDeps {
  publisher?: Publisher;
  /** The send state in Redis: the WABA's templates are copied there on a change, before the announcement. */
  sendState?: Pick<SendState, "writeTemplates">;
}

/**
 * Template webhooks update the stored template of that WABA, name and language, so the next send
 * checks it locally and prices it right. Idempotent (sets, not increments). Shaped as the inbound
 * worker's AccountEventHandler; one handler serves every template field:
 * - `message_template_status_update`: APPROVED, REJECTED, PAUSED, DISABLED…;
 * - `template_category_update`: the category (MARKETING, UTILITY, AUTHENTICATION) and so the price;
 * - `message_template_quality_update`: the quality score (a RED template is usually paused next,
 *   which Meta announces with a status update).
 * With a `publisher`, every process's SendCaches drops that WABA's templates (`templates:changed`);
 * without one, caches see the change when their entries expire.
 */
export function createTemplateStatusHandler(deps: TemplateStatusHandlerDeps = {}) {
  return async (event: TemplateStatusEvent, ctx: { db: Database }): Promise<void> => {
    const repo = ctx.db.templatesForWaba(event.wabaId);
    let changed = false;
    if (event.field === "template_category_update") {
      const v = categoryUpdateSchema.safeParse(event.value);
      if (!v.success || !v.data.new_category) return;
      changed = await repo.applyCategoryUpdate({
        name: v.data.message_template_name,
        language: v.data.message_template_language,
        category: v.data.new_category,
        previousCategory: v.data.previous_category ?? null,
        metaId: v.data.message_template_id ?? null,
      });
    } else if (event.field === "message_template_quality_update") {
      const v = qualityUpdateSchema.safeParse(event.value);
      if (!v.success) return;
      changed = await repo.applyQualityUpdate({
        name: v.data.message_template_name,
        language: v.data.message_template_language,
        quality: v.data.new_quality_score,
        metaId: v.data.message_template_id ?? null,
      });
    } else {
      const v = templateStatusValueSchema.safeParse(event.value);
      if (!v.success) return;
      await repo.applyStatusEvent({
        name: v.data.message_template_name,
        language: v.data.message_template_language,
        event: v.data.event,
        reason: v.data.reason ?? null,
        metaId: v.data.message_template_id,
        ...(v.data.message_template_category ? { category: v.data.message_template_category } : {}),
      });
      changed = true;
    }
    // The send state's copy first: a process that drops its cached templates then reads the new ones.
    if (changed && deps.sendState) await deps.sendState.writeTemplates(event.wabaId);
    if (changed && deps.publisher) await publishTemplatesChanged(deps.publisher, event.wabaId);
  };
}

/** The template fields the inbound worker routes to createTemplateStatusHandler, besides the status update. */
export const templateEventHandlers = (deps: TemplateStatusHandlerDeps = {}) => {
  const handler = createTemplateStatusHandler(deps);
  return { template_category_update: handler, message_template_quality_update: handler };
};
