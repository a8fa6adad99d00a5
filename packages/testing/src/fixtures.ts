import { Types } from "mongoose";

/**
 * The first-contact template the gateway sends by default (`application_received`, two positional
 * variables: the candidate's name and the job title), as a recruiter's WABA has it approved. Tests
 * give it to the simulator (`simTemplate(FIRST_CONTACT_TEMPLATE)`) or store it (`storedTemplate()`).
 */
export const FIRST_CONTACT_TEMPLATE = {
  name: "application_received",
  language: "fr",
  body: "Bonjour {{1}}, votre candidature pour {{2}} est bien reçue.",
  category: "UTILITY",
} as const;

/**
 * The first-contact template as the `templates` collection stores it once synced (what the send plan
 * reads), with `over` applied: for tests that plan sends without a database. Typed by the caller
 * (`storedTemplate<TemplateDoc>()`): this kit does not depend on the db package.
 */
export function storedTemplate<T extends object>(over: Partial<T> = {}): T {
  const now = new Date();
  return {
    _id: new Types.ObjectId(),
    wabaId: "waba-test",
    name: FIRST_CONTACT_TEMPLATE.name,
    language: FIRST_CONTACT_TEMPLATE.language,
    status: "APPROVED",
    category: FIRST_CONTACT_TEMPLATE.category,
    components: [{ type: "BODY", text: FIRST_CONTACT_TEMPLATE.body }],
    headerParams: [],
    bodyParams: ["1", "2"],
    usageCount: 0,
    createdAt: now,
    updatedAt: now,
    ...over,
  } as T;
}

/**
 * An outbound message as the outbound worker stores it once Meta accepted it (status `sent`), for
 * tests that deliver status webhooks for it without running a send. Insert it with the messages
 * collection's driver (`db.messages.collection.insertOne(sentOutboundMessage(...))`).
 */
export function sentOutboundMessage(m: {
  clientId: Types.ObjectId | string;
  conversationId: Types.ObjectId;
  wamid: string;
  dedupeKey: string;
  type?: "text" | "template";
  text?: string;
  at?: Date;
}) {
  const at = m.at ?? new Date();
  return {
    clientId: m.clientId,
    conversationId: m.conversationId,
    dedupeKey: m.dedupeKey,
    wamid: m.wamid,
    direction: "outbound" as const,
    type: m.type ?? "text",
    text: m.text ?? "Bonjour",
    timestamp: at,
    receivedAt: at,
    status: "sent" as const,
    statusRank: 2,
    createdAt: at,
    updatedAt: at,
  };
}

/** A deterministic shuffle (a linear congruential generator from `seed`), so that a failure can be replayed. */
export function seededShuffle<T>(items: T[], seed: number): T[] {
  const a = [...items];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
