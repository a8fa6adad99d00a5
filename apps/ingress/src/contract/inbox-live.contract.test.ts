/**
 * The inbox page reads the events through inbox-live.js: type-checked against the contract (tsc
 * --checkJs), and run here on the contract's example payloads, the platform's minimal shape included.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  EVENTS,
  EVENT_EXAMPLES,
  type ClientStatusPayload,
  type ConversationPayload,
  type ConversationUpdatedPayload,
  type MessageStatusPayload,
} from "@linkojob/events";

interface InboxLive {
  listen(
    socket: { on(event: string, listener: (...args: unknown[]) => void): unknown },
    handlers: Record<string, (payload: never) => void>,
  ): void;
  conversationAfterUpdate(
    known: ConversationPayload | undefined,
    event: Partial<ConversationUpdatedPayload> & { conversationId: string },
  ): ConversationPayload | null;
  messageAfterStatus<M extends { status: string; error: unknown }>(
    known: M,
    event: Pick<MessageStatusPayload, "status" | "error">,
    rank: Record<string, number>,
  ): M | null;
  clientBanner(event: ClientStatusPayload): { hidden: boolean; text: string };
  optOutBadge(optOut: { scope: string | null; source?: string | null; at?: string | null }): {
    hidden: boolean;
    text: string;
    scope: string;
  };
}
// The browser's module, as the page loads it.
const live = (await import(new URL("../inbox/static/inbox-live.js", import.meta.url).href)) as InboxLive;

const updated = EVENT_EXAMPLES[EVENTS.conversationUpdated][0]!.payload;
const RANK = { queued: 0, held: 0, sending: 1, sent: 2, delivered: 3, read: 4, failed: 5 };

describe("inbox-live.js", () => {
  it("passes tsc --checkJs against the event contract", async () => {
    const tsc = fileURLToPath(new URL("../../../../node_modules/typescript/bin/tsc", import.meta.url));
    const project = fileURLToPath(new URL("./inbox-live.tsconfig.json", import.meta.url));
    const run = await promisify(execFile)(process.execPath, [tsc, "-p", project], { encoding: "utf8" }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(run.out).toBe("");
    expect(run.code).toBe(0);
  });

  it("conversation:updated: takes the whole conversation when given", () => {
    const stale = { ...updated.conversation, unreadCount: 0, lastMessagePreview: "old" };
    expect(live.conversationAfterUpdate(stale, updated)).toEqual(updated.conversation);
  });

  it("conversation:updated: applies the platform's { conversationId, updates } to the conversation it holds", () => {
    const known = { ...updated.conversation, unreadCount: 0, lastMessageAt: "2025-01-01T00:00:00.000Z" };
    const minimal = {
      conversationId: known.id,
      updates: { unreadCount: 3, lastMessageAt: "2025-01-15T10:31:00.000Z" },
    };
    expect(live.conversationAfterUpdate(known, minimal)).toEqual({
      ...known,
      unreadCount: 3,
      lastMessageAt: "2025-01-15T10:31:00.000Z",
    });
    // Unknown conversation and no snapshot: the page reads the list again.
    expect(live.conversationAfterUpdate(undefined, minimal)).toBeNull();
  });

  it("message:status: moves forward only, held either way, keeps the error it had", () => {
    const sent = { id: "m1", status: "sent", error: null };
    expect(live.messageAfterStatus(sent, { status: "delivered", error: null }, RANK)).toEqual({
      id: "m1",
      status: "delivered",
      error: null,
    });
    expect(live.messageAfterStatus({ ...sent, status: "read" }, { status: "delivered", error: null }, RANK)).toBeNull();
    expect(live.messageAfterStatus({ ...sent, status: "held" }, { status: "queued", error: null }, RANK)).toMatchObject(
      { status: "queued" },
    );
    const failed = EVENT_EXAMPLES[EVENTS.messageStatus][1]!.payload;
    expect(live.messageAfterStatus(sent, failed, RANK)).toMatchObject({ status: "failed", error: failed.error });
  });

  it("client:status: a banner unless active; the token warning says when", () => {
    const [reauth, warning] = EVENT_EXAMPLES[EVENTS.clientStatus];
    expect(live.clientBanner(reauth!.payload)).toEqual({
      hidden: false,
      text: "WhatsApp needs to be reconnected: sends are held.",
    });
    expect(live.clientBanner(warning!.payload)).toMatchObject({
      hidden: false,
      text: expect.stringContaining("expires"),
    });
    expect(
      live.clientBanner({
        ...(reauth!.payload as object),
        status: "active",
        previousStatus: "reauth_required",
      } as ClientStatusPayload),
    ).toEqual({ hidden: true, text: "" });
  });

  it("candidate:opt_out: the conversation's badge says what is refused and why; none once lifted", () => {
    const [stop, marketing] = EVENT_EXAMPLES[EVENTS.candidateOptOut];
    const badge = (p: (typeof EVENT_EXAMPLES)[typeof EVENTS.candidateOptOut][number]["payload"]) =>
      live.optOutBadge({ scope: p.scope, source: p.change.source, at: p.change.at });
    expect(badge(stop!.payload)).toMatchObject({
      hidden: false,
      scope: "all",
      text: expect.stringMatching(
        /^Opted out: the candidate wrote STOP on .*Nothing can be sent until they write START\.$/,
      ),
    });
    expect(badge(marketing!.payload)).toMatchObject({
      hidden: false,
      scope: "marketing",
      text: expect.stringMatching(
        /^No marketing: a recruiter recorded it on .*Utility templates and replies still go\.$/,
      ),
    });
    expect(live.optOutBadge({ scope: null })).toEqual({ hidden: true, text: "", scope: "" });
  });

  it("listen: registers each handler under its event name", () => {
    const on: Array<[string, unknown]> = [];
    const handler = () => undefined;
    live.listen(
      { on: (event, listener) => on.push([event, listener]) },
      { [EVENTS.messageReceived]: handler, [EVENTS.conversationUpdated]: handler },
    );
    expect(on).toEqual([
      [EVENTS.messageReceived, handler],
      [EVENTS.conversationUpdated, handler],
    ]);
  });
});
