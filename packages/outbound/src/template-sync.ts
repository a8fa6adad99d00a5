import type { TemplateRepository } from "@linkojob/db";
import { listTemplates, type GraphClient } from "@linkojob/whatsapp";

/**
 * Syncs one WABA's templates from Meta into the templates collection, following every page: the
 * Graph read lives here, the persistence (`TemplateRepository.applySync`, an upsert of what Meta
 * returned and the removal of what it no longer lists) in `@linkojob/db`. Called on connect
 * (onboarding), on a schedule (outbound worker) and on demand (POST /api/templates/sync). The
 * token is passed in already decrypted and is never stored or logged here.
 */
export async function syncTemplates(
  graph: GraphClient,
  repo: TemplateRepository,
  token: string,
): Promise<{ wabaId: string | null; upserted: number; removed: number }> {
  const wabaId = await repo.wabaId();
  if (!wabaId) return { wabaId: null, upserted: 0, removed: 0 };
  const templates = await listTemplates(graph, { wabaId, token });
  const res = await repo.applySync(templates);
  return { wabaId, ...res };
}
