/**
 * A conversation's summary of its latest message (the inbox list's line): one shape, written the
 * same way by every writer of a conversation — the inbound batch, the send path, a merge of twins —
 * and only when the message is newer than the one summarised (`newerThanSummary`), so writes in any
 * order leave the latest.
 */

/** The longest preview kept (characters). */
export const SUMMARY_PREVIEW_MAX = 280;

export interface LatestMessage {
  /** `messageSortKey(timestamp, dedupeKey)`: orders messages, ties broken. */
  sortKey: string;
  from: "candidate" | "recruiter" | null;
  preview?: string | null;
  type: string | null;
}

export type SummaryFields = {
  lastMessageSortKey: string;
  lastMessageFrom: "candidate" | "recruiter" | null;
  lastMessagePreview: string | null;
  lastMessageType: string | null;
};

/** The stored fields summarising `m`. */
export function summaryFields(m: LatestMessage): SummaryFields {
  return {
    lastMessageSortKey: m.sortKey,
    lastMessageFrom: m.from,
    lastMessagePreview: m.preview?.slice(0, SUMMARY_PREVIEW_MAX) ?? null,
    lastMessageType: m.type,
  };
}

/** The filter clause under which a message of `sortKey` is newer than the summarised one (or none is). */
export const newerThanSummary = (sortKey: string) => ({
  $or: [{ lastMessageSortKey: null }, { lastMessageSortKey: { $lt: sortKey } }],
});

/** No summary (the summarised message was taken back). */
export const NO_SUMMARY = {
  lastMessageSortKey: null,
  lastMessageFrom: null,
  lastMessagePreview: null,
  lastMessageType: null,
} as const;
