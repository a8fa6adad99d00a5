import { Types } from "mongoose";

/**
 * Conversations and messages as the gateway stores them (first-contact templates with their
 * statuses and Meta's pricing, candidates' replies, recruiters' answers, opt-outs, failures), for the
 * analytics tests, the browser test and the 1,000,000-message benchmark. Deterministic from `seed`.
 * Plain documents (this kit does not depend on the db package): insert them with the collections'
 * drivers, then count them with the analytics rebuild or projector.
 */
export interface AnalyticsSeedOptions {
  clientId: Types.ObjectId;
  /** Conversations to create (each has 1 to 6 messages; about 3.9 on average). */
  conversations: number;
  /** First day of the sends (UTC midnight). */
  start: Date;
  /** Days the sends spread over. */
  days: number;
  seed: number;
  /** Number of the first conversation (several calls for one tenant: each starts after the last). Default 0. */
  offset?: number;
  /** Candidate names (Arabic and French ones by default). */
  names?: string[];
}

export const SEED_TEMPLATES = [
  { name: "application_received", language: "fr", category: "utility", price: 0.4 },
  { name: "application_received", language: "ar", category: "utility", price: 0.4 },
  { name: "interview_invitation", language: "fr", category: "marketing", price: 0.8 },
] as const;

const DEFAULT_NAMES = ["Yasmine El Idrissi", "محمد العلوي", "Karim Benali", "فاطمة الزهراء", "Sara Ouazzani", "يوسف"];
const H = 3_600_000;
const SERVICE_BILLED_FROM = Date.parse("2026-10-01T00:00:00Z");

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function analyticsSeed(o: AnalyticsSeedOptions): {
  conversations: Array<Record<string, unknown>>;
  messages: Array<Record<string, unknown>>;
} {
  const r = rng(o.seed);
  const names = o.names ?? DEFAULT_NAMES;
  const conversations: Array<Record<string, unknown>> = [];
  const messages: Array<Record<string, unknown>> = [];
  const prefix = o.clientId.toHexString().slice(-6);
  for (let i = 0; i < o.conversations; i++) {
    const conversationId = new Types.ObjectId();
    const before = messages.length;
    const french = r() < 0.15;
    const n = (o.offset ?? 0) + i;
    const phone = french ? `336${String(10_000_000 + n)}` : `2126${String(10_000_000 + n)}`;
    const applicationId = `app-${prefix}-${n}`;
    const base = {
      clientId: o.clientId,
      conversationId,
    };
    let at =
      o.start.getTime() +
      Math.floor(r() * o.days) * 24 * H +
      Math.floor(r() * 14 + 7) * H +
      Math.floor(r() * 3_600) * 1_000;
    let last = at;
    const rounds = r() < 0.2 ? 2 : 1;
    for (let round = 0; round < rounds; round++) {
      const t = SEED_TEMPLATES[Math.floor(r() * SEED_TEMPLATES.length)]!;
      const failed = r() < 0.05;
      const delivered = !failed && r() < 0.9;
      const read = delivered && r() < 0.65;
      const statusAt: Record<string, Date> = {};
      if (!failed || r() < 0.5) statusAt.sent = new Date(at + 1_000);
      if (delivered) statusAt.delivered = new Date(at + 5_000 + Math.floor(r() * 60_000));
      if (read) statusAt.read = new Date(at + 120_000 + Math.floor(r() * 3 * H));
      if (failed) statusAt.failed = new Date(at + 2_000);
      const priced = delivered && r() < 0.95;
      const status = failed ? "failed" : read ? "read" : delivered ? "delivered" : "sent";
      const rank = { failed: 3, read: 5, delivered: 4, sent: 2 }[status];
      messages.push({
        _id: new Types.ObjectId(),
        ...base,
        dedupeKey: `out:seed-${prefix}-${n}-${round}`,
        wamid: `wamid.seed-${prefix}-${n}-${round}`,
        direction: "outbound",
        type: "template",
        kind: "template",
        text: null,
        timestamp: new Date(at),
        receivedAt: new Date(at),
        status,
        statusRank: rank,
        statusAt,
        error: failed ? { code: r() < 0.6 ? 131026 : 131049, title: "Message undeliverable" } : null,
        pricing: priced ? { billable: true, pricingModel: "PMP", type: "regular", category: t.category } : null,
        template: { name: t.name, language: t.language, category: t.category },
        request: { candidatePhone: phone, applicationId, candidateName: names[i % names.length] },
        cost: t.price,
        costExpected: t.price,
        costCategory: t.category,
        costSource: priced ? "meta" : "estimate",
        createdAt: new Date(at),
        updatedAt: new Date(at),
      });
      last = at;
      if (delivered && r() < 0.55) {
        // Most replies come within hours; a few after a day or more.
        const delay = r() < 0.8 ? Math.floor(r() * 6 * H) : Math.floor(24 * H + r() * 60 * H);
        const replyAt = (statusAt.delivered as Date).getTime() + 60_000 + delay;
        const optOut = r() < 0.04;
        messages.push({
          _id: new Types.ObjectId(),
          ...base,
          dedupeKey: `in:wamid.seed-in-${prefix}-${n}-${round}`,
          wamid: `wamid.seed-in-${prefix}-${n}-${round}`,
          direction: "inbound",
          type: "text",
          text: optOut ? "STOP" : r() < 0.5 ? "Oui, je suis intéressé" : "نعم، أنا مهتم",
          timestamp: new Date(replyAt),
          receivedAt: new Date(replyAt),
          status: "received",
          statusRank: 0,
          createdAt: new Date(replyAt),
          updatedAt: new Date(replyAt),
        });
        last = replyAt;
        if (!optOut && r() < 0.75) {
          const answerAt = replyAt + Math.floor(r() < 0.7 ? r() * 2 * H : r() * 30 * H) + 30_000;
          const inWindow = answerAt - replyAt <= 24 * H;
          const cost = inWindow ? (answerAt >= SERVICE_BILLED_FROM ? 0.4 : 0) : 0.4;
          const category = inWindow ? "service" : "utility";
          messages.push({
            _id: new Types.ObjectId(),
            ...base,
            dedupeKey: `out:seed-answer-${prefix}-${n}-${round}`,
            wamid: `wamid.seed-answer-${prefix}-${n}-${round}`,
            direction: "outbound",
            type: "text",
            kind: "text",
            text: "Merci, pouvez-vous venir jeudi ?",
            timestamp: new Date(answerAt),
            receivedAt: new Date(answerAt),
            status: "delivered",
            statusRank: 4,
            statusAt: { sent: new Date(answerAt + 1_000), delivered: new Date(answerAt + 3_000) },
            pricing: {
              billable: cost > 0,
              pricingModel: "PMP",
              type: cost > 0 ? "regular" : "free_customer_service",
              category,
            },
            request: { candidatePhone: phone, message: "Merci" },
            cost,
            costExpected: cost,
            costCategory: category,
            costSource: "meta",
            createdAt: new Date(answerAt),
            updatedAt: new Date(answerAt),
          });
          last = answerAt;
        }
      }
      at = last + 7 * 24 * H + Math.floor(r() * 24 * H);
    }
    conversations.push({
      _id: conversationId,
      clientId: o.clientId,
      candidateKey: phone,
      candidatePhone: phone,
      candidateName: names[i % names.length],
      applicationId,
      messageCount: messages.length - before,
      unreadCount: 0,
      lastMessageAt: new Date(last),
      createdAt: new Date(o.start),
      updatedAt: new Date(last),
    });
  }
  return { conversations, messages };
}
