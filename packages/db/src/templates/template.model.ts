import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * A message template as synced from Meta. Template names are unique per WABA and language, not
 * globally (Evolution API got this wrong): several clients sharing a WABA share
 * its templates, and two WABAs may each have their own `application_received`.
 */
export interface TemplateDoc {
  _id: Types.ObjectId;
  wabaId: string;
  /** Meta's template id. */
  metaId?: string | null;
  name: string;
  language: string;
  /** APPROVED, PENDING, REJECTED, PAUSED, DISABLED, … as Meta reports it (upper case). */
  status: string;
  /** MARKETING, UTILITY or AUTHENTICATION. */
  category?: string | null;
  components?: unknown[];
  /** Variables the header and body expect, in the order they are filled (header first). */
  headerParams: string[];
  bodyParams: string[];
  statusReason?: string | null;
  /** From `template_category_update`: the category before Meta changed it, and when. */
  previousCategory?: string | null;
  categoryChangedAt?: Date | null;
  /** From `message_template_quality_update`: GREEN, YELLOW, RED or UNKNOWN. */
  qualityScore?: string | null;
  qualityChangedAt?: Date | null;
  usageCount: number;
  lastUsedAt?: Date | null;
  syncedAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const templateSchema = new Schema<TemplateDoc>(
  {
    wabaId: { type: String, required: true },
    metaId: { type: String, default: null },
    name: { type: String, required: true },
    language: { type: String, required: true },
    status: { type: String, required: true },
    category: { type: String, default: null },
    components: { type: [Schema.Types.Mixed], default: [] },
    headerParams: { type: [String], default: [] },
    bodyParams: { type: [String], default: [] },
    statusReason: { type: String, default: null },
    previousCategory: { type: String, default: null },
    categoryChangedAt: { type: Date, default: null },
    qualityScore: { type: String, default: null },
    qualityChangedAt: { type: Date, default: null },
    usageCount: { type: Number, default: 0 },
    lastUsedAt: { type: Date, default: null },
    syncedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: "templates" },
);
templateSchema.index({ wabaId: 1, name: 1, language: 1 }, { unique: true });

export const templateModel = (conn: Connection): Model<TemplateDoc> =>
  conn.model<TemplateDoc>("Template", templateSchema);
