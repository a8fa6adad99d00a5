/**
 * The recruiter inbox in a real browser: a form (WhatsApp Flow) sent from the composer's
 * "Send form", completed by the simulated candidate (`nfm_reply`) and shown as a form; a candidate
 * blocked and unblocked from the thread's button; a username-only candidate asked for their phone
 * number, their shared number then shown on the conversation. Debian's chromium driven by
 * playwright-core over the whole loop on real parts (simulator over HTTP, ingress, workers on
 * BullMQ/Redis, FerretDB, the realtime server over websocket); only Meta is simulated. Every wait is
 * for a condition on the page. Screenshots go to test-artifacts/inbox-forms/ (gitignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { randomInt } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationDoc } from "@linkojob/db";
import { eventually, testServices } from "@linkojob/testing";
import { startStack, type Stack } from "../harness/stack.harness.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(new URL("../../..", import.meta.url).pathname, "test-artifacts", "inbox-forms");
const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser) console.warn(`[e2e] SKIPPED the inbox forms browser test: no chromium at ${CHROMIUM}.`);

describe.skipIf(!hasBrowser)("inbox: forms, blocking and phone-number requests in a real browser", () => {
  let stack: Stack | undefined;
  let browser: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let shot = 0;
  const outside: string[] = [];
  const screenshot = async (name: string) => {
    shot++;
    await page.screenshot({ path: join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`) });
  };
  const s = () => stack!;
  const business = () => ({ phoneNumberId: s().client.phoneNumberId, wabaId: s().client.wabaId });
  /** The simulated candidate writes, or answers (a signed webhook from the simulator). */
  async function candidate(body: Record<string, unknown>): Promise<{ wamid: string }> {
    const res = await fetch(`${s().sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...business(), ...body }),
    });
    const answer = (await res.json()) as { wamid: string };
    expect(res.status, JSON.stringify(answer)).toBe(200);
    return answer;
  }
  /** Waits until the send API sees the candidate's window open (the worker's copy in Redis). */
  async function windowOpen(candidateKey: string) {
    const redis = s().redis();
    await eventually(async () =>
      (await redis.exists(s().outbound.sendState.windowKey(s().clientId, candidateKey))) ? true : null,
    );
  }
  const openConversation = async (q: Record<string, unknown>) => {
    const c = await eventually(() =>
      s()
        .db.conversations.findOne({ clientId: s().client._id, ...q })
        .lean<ConversationDoc>(),
    );
    await page.locator(`.conv[data-id="${c._id.toHexString()}"]`).click();
    await expect.poll(() => page.getAttribute("#composer-plan", "data-kind")).toBe("text");
    return c;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack({
      services: testServices("inbox-forms-e2e"),
      statusStepDelayMs: 100,
      inbox: true,
      ingressLogger: false,
      concurrency: 2,
      client: {
        companyName: "Atlas Formulaires",
        phoneNumberId: `1088${randomInt(100_000, 999_999)}`,
        wabaId: `2088${randomInt(100_000, 999_999)}`,
        whatsappNumber: "212522000088",
      },
    });
    userDataDir = mkdtempSync(join(tmpdir(), "inbox-forms-chromium-"));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 900 },
      locale: "fr-FR",
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on("request", (req) => {
      if (/^(https?|wss?):/.test(req.url()) && new URL(req.url()).hostname !== "127.0.0.1") outside.push(req.url());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await stack?.close();
  });

  it("sends a form from the inbox; the candidate's answers appear as a form; the candidate is blocked and unblocked from the thread", async () => {
    const phone = `2126${randomInt(10_000_000, 99_999_999)}`;
    await candidate({ from: phone, name: "Yasmine Alaoui", type: "text", text: "Bonjour, je suis intéressée" });
    await windowOpen(phone);

    await page.goto(`${s().ingressUrl}/inbox#token=${s().jwt}`);
    await page.locator("#live[data-state=live]").waitFor();
    await openConversation({ candidatePhone: phone });
    expect(await page.isHidden("#composer-extras")).toBe(false);
    // The candidate's number is known: no phone-number request offered.
    expect(await page.isHidden("#ask-phone")).toBe(true);

    // "Send form": a published flow by id, opened at its first screen.
    await page.locator("#send-form summary").click();
    await page.fill("#form-flow", "778899001122");
    await page.fill("#form-screen", "DISPONIBILITES");
    await page.fill("#form-body", "Complétez votre candidature (1 minute)");
    await page.fill("#form-cta", "Remplir");
    await screenshot("send-form-filled");
    await page.click("#form-send");
    const form = page.locator('#messages .msg[data-direction="outbound"][data-kind="interactive"]');
    await form.waitFor();
    await expect.poll(() => form.getAttribute("data-status")).toMatch(/^(sent|delivered|read)$/);
    expect(await form.textContent()).toContain("Form · Remplir");
    await screenshot("form-sent");

    // What Meta received: the flow, its first screen and our token.
    const messageId = (await form.getAttribute("data-id"))!;
    const [call] = s().simState.accepted.filter((a) => a.bizOpaque === messageId);
    const interactive = call!.body.interactive as { type: string; action: { parameters: Record<string, unknown> } };
    expect(interactive).toMatchObject({
      type: "flow",
      body: { text: "Complétez votre candidature (1 minute)" },
      action: {
        name: "flow",
        parameters: {
          flow_id: "778899001122",
          flow_cta: "Remplir",
          flow_action: "navigate",
          flow_action_payload: { screen: "DISPONIBILITES" },
        },
      },
    });
    const token = interactive.action.parameters.flow_token as string;
    const wamid = await eventually(async () => (await s().db.messages.findById(messageId).lean())?.wamid ?? null);

    // The simulator's candidate completes the form (nfm_reply): the inbox shows the answers as a form.
    await candidate({
      from: phone,
      type: "interactive",
      interactive: {
        type: "nfm_reply",
        response: { flow_token: token, disponibilite: "Immédiate", salaire_attendu: "6500", permis: ["B", "C"] },
      },
      context: { id: wamid },
    });
    const answers = page.locator('#messages .msg[data-direction="inbound"] dl.flow-answers');
    await answers.waitFor();
    const labels = await answers.locator("dt").allTextContents();
    const values = await answers.locator("dd").allTextContents();
    expect(labels.map((l, i) => [l, values[i]])).toEqual([
      ["Disponibilite", "Immédiate"],
      ["Salaire attendu", "6500"],
      ["Permis", "B, C"],
    ]);
    expect(await page.textContent('#messages .msg[data-direction="inbound"]:has(dl.flow-answers)')).toContain(
      "Form answers · DISPONIBILITES",
    );
    await screenshot("form-answers");

    // Block from the thread: Meta's blocklist, the pill and the button follow.
    expect(await page.textContent("#block-toggle")).toBe("Block");
    await page.click("#block-toggle");
    await page.locator("#thread-blocked:not([hidden])").waitFor();
    expect(await page.textContent("#thread-blocked")).toMatch(/^Blocked on /);
    expect(await page.textContent("#block-toggle")).toBe("Unblock");
    const blocklist = async () =>
      JSON.stringify(
        await (
          await fetch(`${s().sim.url}/v26.0/${s().client.phoneNumberId}/block_users`, {
            headers: { authorization: "Bearer any" },
          })
        ).json(),
      );
    expect(await blocklist()).toContain(phone);
    // Nothing can be sent to a blocked candidate: the composer says so and offers no send.
    expect(await page.textContent("#composer-plan")).toContain("you blocked this candidate");
    expect(await page.isDisabled("#composer-send")).toBe(true);
    expect(await page.isHidden("#composer-extras")).toBe(true);
    await screenshot("blocked");
    await page.click("#block-toggle");
    await page.locator("#thread-blocked[hidden]").waitFor({ state: "attached" });
    expect(await page.textContent("#block-toggle")).toBe("Block");
    expect(await blocklist()).not.toContain(phone);
    await expect.poll(() => page.getAttribute("#composer-plan", "data-kind")).toBe("text");
    expect(await page.isDisabled("#composer-send")).toBe(false);
    expect(await page.textContent("#block-error")).toBe("");
  });

  it("asks a username-only candidate for their phone number; their shared number shows on the conversation", async () => {
    const userId = `MA.${randomInt(100_000_000, 999_999_999)}7`;
    const phone = `2127${randomInt(10_000_000, 99_999_999)}`;
    await candidate({ userId, username: "salma_dev", name: "Salma", type: "text", text: "Bonjour !" });
    await windowOpen(userId);
    await page.goto(`${s().ingressUrl}/inbox`);
    await page.locator("#live[data-state=live]").waitFor();
    await openConversation({ candidateUserId: userId });
    expect(await page.textContent("#thread-sub")).toContain("no phone number shared");
    await page.locator("#ask-phone:not([hidden])").click();
    const ask = page.locator('#messages .msg[data-direction="outbound"][data-kind="interactive"]');
    await ask.waitFor();
    await expect.poll(() => ask.getAttribute("data-status")).toMatch(/^(sent|delivered|read)$/);
    expect(await ask.textContent()).toContain("Phone number request");
    const askId = await ask.getAttribute("data-id");
    const [call] = s().simState.accepted.filter((a) => a.bizOpaque === askId);
    expect(call!.body).toMatchObject({ recipient: userId, interactive: { type: "request_contact_info" } });
    await screenshot("phone-requested");

    await candidate({
      userId,
      type: "contacts",
      contacts: [{ formattedName: "Salma", origin: "contact_request", phones: [{ phone: `+${phone}`, waId: phone }] }],
    });
    await expect.poll(() => page.textContent("#thread-sub")).toContain(`+${phone}`);
    await page.locator('#messages .msg[data-direction="inbound"]:has-text("Shared their phone number")').waitFor();
    expect(await page.isHidden("#ask-phone")).toBe(true);
    // The composer still sees the open window: the conversation is found by its newly linked number.
    await expect.poll(() => page.getAttribute("#composer-plan", "data-kind")).toBe("text");
    await screenshot("phone-shared");
    expect(outside).toEqual([]);
  });
});
