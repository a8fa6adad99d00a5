import { expect } from "vitest";
import type { Database } from "@linkojob/db";
import type { Types } from "mongoose";

/**
 * What "nothing lost, nothing duplicated, every counter exact" means after an outage or a killed
 * worker: each of `messages` stored once under the client, none left claimed, `candidates`
 * conversations each counting `perCandidate` messages and as many unread, and no dead letter.
 */
export async function expectStoredExactlyOnce(
  db: Database,
  clientId: Types.ObjectId,
  expected: { messages: number; candidates: number; perCandidate: number },
): Promise<void> {
  const stored = await db.messages.find({ clientId }, { wamid: 1, countClaim: 1 }).lean();
  expect(stored).toHaveLength(expected.messages);
  expect(new Set(stored.map((m) => m.wamid)).size).toBe(expected.messages);
  expect(stored.filter((m) => m.countClaim)).toEqual([]);
  const conversations = await db.conversations
    .find({ clientId }, { candidatePhone: 1, messageCount: 1, unreadCount: 1 })
    .lean();
  expect(conversations).toHaveLength(expected.candidates);
  const wrong = conversations
    .filter((c) => c.messageCount !== expected.perCandidate || c.unreadCount !== expected.perCandidate)
    .map((c) => `${c.candidatePhone}: ${c.messageCount} messages, ${c.unreadCount} unread`);
  expect(wrong).toEqual([]);
  expect(await db.webhookEvents.countDocuments({ kind: "dead_letter" })).toBe(0);
}
