import type { Model } from "mongoose";
import type { GraphTemplate } from "@linkojob/whatsapp";
import type { TemplateDoc } from "./template.model.js";
import { storableValues } from "../ferretdb-adapter.js";

/** A template as Meta lists it (GET /{waba}/message_templates). */
export type SyncedTemplate = GraphTemplate;

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** The distinct variables of a component's text, in order of first appearance. */
export function placeholdersOf(text: string | undefined): string[] {
  if (!text) return [];
  const seen: string[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) if (!seen.includes(m[1]!)) seen.push(m[1]!);
  return seen;
}

export function templateParams(components: SyncedTemplate["components"]): {
  headerParams: string[];
  bodyParams: string[];
} {
  const header = components?.find(
    (c) => String(c.type).toUpperCase() === "HEADER" && String(c.format ?? "TEXT").toUpperCase() === "TEXT",
  );
  const body = components?.find((c) => String(c.type).toUpperCase() === "BODY");
  return { headerParams: placeholdersOf(header?.text), bodyParams: placeholdersOf(body?.text) };
}

/**
 * The templates of one WABA. A tenant's repository (Database.forTenant) resolves its client's WABA
 * itself, so a tenant reads only its own WABA's templates.
 */
export class TemplateRepository {
  private waba: Promise<string | null> | null = null;

  constructor(
    private readonly model: Model<TemplateDoc>,
    private readonly resolveWaba: () => Promise<string | null>,
  ) {}

  wabaId(): Promise<string | null> {
    this.waba ??= this.resolveWaba();
    return this.waba;
  }

  async find(name: string, language: string): Promise<TemplateDoc | null> {
    const wabaId = await this.wabaId();
    if (!wabaId) return null;
    return this.model.findOne({ wabaId, name, language }, { __v: 0 }).lean<TemplateDoc>();
  }

  async list(): Promise<TemplateDoc[]> {
    const wabaId = await this.wabaId();
    if (!wabaId) return [];
    return this.model.find({ wabaId }, { __v: 0 }).sort({ name: 1, language: 1 }).lean<TemplateDoc[]>();
  }

  /**
   * Stores a full sync: upserts every template Meta listed and marks the ones it no longer lists as
   * DELETED (kept, with their usage counts). Returns how many were listed and how many disappeared.
   */
  async applySync(templates: SyncedTemplate[], at = new Date()): Promise<{ upserted: number; removed: number }> {
    const wabaId = await this.wabaId();
    if (!wabaId) return { upserted: 0, removed: 0 };
    // Meta's components hold arrays inside arrays (`example.body_text`), which the stand-in refuses.
    const storable = await storableValues(this.model.db);
    for (const t of templates) {
      const { headerParams, bodyParams } = templateParams(t.components);
      await this.model.updateOne(
        { wabaId, name: t.name, language: t.language },
        {
          $set: {
            metaId: t.id ?? null,
            status: String(t.status).toUpperCase(),
            category: t.category ? String(t.category).toUpperCase() : null,
            components: storable(t.components ?? []),
            headerParams,
            bodyParams,
            syncedAt: at,
          },
          $setOnInsert: { wabaId, name: t.name, language: t.language, usageCount: 0 },
        },
        { upsert: true },
      );
    }
    const removed = await this.model.updateMany(
      { wabaId, $or: [{ syncedAt: { $lt: at } }, { syncedAt: null }], status: { $ne: "DELETED" } },
      { $set: { status: "DELETED", statusReason: "no longer listed by Meta" } },
    );
    return { upserted: templates.length, removed: removed.modifiedCount };
  }

  /** A `message_template_status_update` webhook: APPROVED, REJECTED, PAUSED, DISABLED… */
  async applyStatusEvent(e: {
    name: string;
    language: string;
    event: string;
    reason?: string | null;
    metaId?: string;
    category?: string;
  }) {
    const wabaId = await this.wabaId();
    if (!wabaId) return;
    await this.model.updateOne(
      { wabaId, name: e.name, language: e.language },
      {
        $set: {
          status: e.event.toUpperCase(),
          statusReason: e.reason ?? null,
          ...(e.metaId ? { metaId: e.metaId } : {}),
        },
        $setOnInsert: {
          wabaId,
          name: e.name,
          language: e.language,
          usageCount: 0,
          headerParams: [],
          bodyParams: [],
          ...(e.category ? { category: e.category.toUpperCase() } : {}),
        },
      },
      { upsert: true },
    );
  }

  /**
   * A `template_category_update` webhook: the template's category changed (its price follows). Only
   * an existing template is updated; the next sync brings one not synced yet.
   */
  async applyCategoryUpdate(
    e: { name: string; language: string; category: string; previousCategory?: string | null; metaId?: string | null },
    at = new Date(),
  ): Promise<boolean> {
    const wabaId = await this.wabaId();
    if (!wabaId) return false;
    const res = await this.model.updateOne(
      { wabaId, name: e.name, language: e.language },
      {
        $set: {
          category: e.category.toUpperCase(),
          previousCategory: e.previousCategory ? e.previousCategory.toUpperCase() : null,
          categoryChangedAt: at,
          ...(e.metaId ? { metaId: e.metaId } : {}),
        },
      },
    );
    return res.matchedCount === 1;
  }

  /** A `message_template_quality_update` webhook: the template's quality score (GREEN, YELLOW, RED). */
  async applyQualityUpdate(
    e: { name: string; language: string; quality: string; metaId?: string | null },
    at = new Date(),
  ): Promise<boolean> {
    const wabaId = await this.wabaId();
    if (!wabaId) return false;
    const res = await this.model.updateOne(
      { wabaId, name: e.name, language: e.language },
      {
        $set: {
          qualityScore: e.quality.toUpperCase(),
          qualityChangedAt: at,
          ...(e.metaId ? { metaId: e.metaId } : {}),
        },
      },
    );
    return res.matchedCount === 1;
  }

  async recordUse(id: TemplateDoc["_id"], at = new Date()): Promise<void> {
    const wabaId = await this.wabaId();
    await this.model.updateOne({ _id: id, wabaId }, { $inc: { usageCount: 1 }, $max: { lastUsedAt: at } });
  }
}
