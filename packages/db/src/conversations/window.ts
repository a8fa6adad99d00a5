/**
 * The 24-hour customer service window, decided in one place: a candidate's message opens it for 24
 * hours from that message (Meta: free-form messages only within 24 hours of the user's last
 * message). The send plan, the worker, the API's views and the send state all ask this module.
 */
export const WINDOW_MS = 24 * 3_600_000;

/** When the window a candidate's message at `at` opens closes. */
export const windowEndAfter = (at: Date): Date => new Date(at.getTime() + WINDOW_MS);

/** Whether the window is open at `now`: its end is still ahead. */
export const windowOpen = (
  conversation: { windowExpiresAt?: Date | string | null } | null | undefined,
  now = Date.now(),
): boolean => !!conversation?.windowExpiresAt && new Date(conversation.windowExpiresAt).getTime() > now;
