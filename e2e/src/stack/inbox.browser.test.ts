/**
 * The recruiter inbox in a real browser: Debian's chromium driven by
 * playwright-core over the whole loop on real parts — the Meta simulator (over HTTP), the ingress
 * (listening, serving /inbox and the API), the inbound and outbound workers on BullMQ/Redis, the
 * MongoDB-protocol server and the realtime server (Socket.io over websocket). Only Meta is simulated.
 *
 * Every wait is for a condition on the page, never a fixed time. Screenshots of each step go to
 * test-artifacts/inbox/ (gitignored) for a person to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientDoc, Database } from "@linkojob/db";
import { messagingState, simTemplate, type MetaSimulator } from "@linkojob/meta-simulator";
import type { OutboundWorker } from "@linkojob/outbound-worker";
import { TEST_SECRETS, startTestCdn, testServices, tokenFor, type TestCdn } from "@linkojob/testing";
import { TokenVault } from "@linkojob/vault";
import { startStack, type Stack } from "../harness/stack.harness.js";

/** The page's window, as far as the test evaluates in it. */
interface PageWindow {
  getComputedStyle(element: unknown): { direction: string };
}

/** A Graph API send (POST /{phone-number-id}/messages) as the simulator recorded its JSON body. */
interface GraphMessageBody {
  type?: string;
  status?: string;
  message_id?: string;
  recipient?: string;
  typing_indicator?: { type: string };
  text?: { body: string };
  context?: unknown;
  reaction?: unknown;
  template?: { name: string; components: unknown[] };
  [field: string]: unknown;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(new URL("../../..", import.meta.url).pathname, "test-artifacts", "inbox");
const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser) {
  console.warn(
    `[e2e] SKIPPED the inbox browser test: no chromium at ${CHROMIUM} (scripts/bootstrap.sh installs it with apt-get when run as root).`,
  );
}

/**
 * Runs in the page (a string: this project type-checks without the DOM library): records every
 * status each outbound message element goes through, in order, in window.__statusLog.
 */
const STATUS_RECORDER = `
  const log = [];
  window.__statusLog = log;
  const record = (node) => {
    const id = node.getAttribute("data-id");
    const status = node.getAttribute("data-status");
    if (!id || !status || node.getAttribute("data-direction") !== "outbound") return;
    const last = [...log].reverse().find((e) => e.id === id);
    if (!last || last.status !== status) log.push({ id, status });
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) [n, ...n.querySelectorAll("[data-status]")].forEach(record);
  }).observe(document, { childList: true, subtree: true });
`;

const CANDIDATE = { phone: "0612345678", waId: "212612345678", name: "Yasmine Alaoui", job: "Développeuse web" };

describe.skipIf(!hasBrowser)("recruiter inbox in a real browser", () => {
  const services = testServices("inbox-e2e");
  let stack: Stack | undefined;
  let db: Database;
  let sim: MetaSimulator;
  let outbound: OutboundWorker;
  let browser: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let ingressUrl: string;
  let client: ClientDoc;
  let jwt: string;
  let shot = 0;
  let cdn: TestCdn;
  const outside: string[] = [];
  const screenshot = async (name: string) => {
    shot++;
    await page.screenshot({ path: join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`) });
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // The template's header image, served by a CDN the outbound worker fetches once and uploads to Meta.
    cdn = await startTestCdn({
      "/offres/comptable.jpg": { body: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6]), type: "image/jpeg" },
    });
    stack = await startStack({
      services,
      outboundMediaFetch: { allowPrivateHosts: ["localhost"], ca: cdn.ca },
      // Meta's sent → delivered → read, one step at a time, so that each tick can be seen.
      statusStepDelayMs: 700,
      inbox: true,
      ingressLogger: false,
      concurrency: 4,
      client: {
        companyName: "Atlas Recrutement",
        phoneNumberId: `1099${Date.now() % 1_000_000}`,
        wabaId: `2099${Date.now() % 1_000_000}`,
        whatsappNumber: "212522000099",
      },
    });
    ({ db, sim, outbound, ingressUrl, client, jwt } = stack);

    userDataDir = mkdtempSync(join(tmpdir(), "inbox-chromium-"));
    // A fresh profile per run (Playwright takes it as userDataDir, not as an argument).
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
      viewport: { width: 1280, height: 800 },
      locale: "fr-FR",
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // Nothing outside this machine: any request to another host fails the test.
    page.on("request", (req) => {
      if (/^(https?|wss?):/.test(req.url()) && new URL(req.url()).hostname !== "127.0.0.1") outside.push(req.url());
    });
    // Every status each message element goes through, in order (to see the ticks advance).
    await page.addInitScript(STATUS_RECORDER);
  });

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await stack?.close();
    await cdn?.close();
  });

  it("sends a first-contact template, shows the ticks advance, opens the window on the candidate's reply and sends free text, all live", async () => {
    // Page loads (a reload or a navigation would add one; replaceState and live updates do not).
    let loads = 0;
    page.on("load", () => loads++);

    // The token travels in the fragment: the page keeps it in sessionStorage and drops it from the URL.
    await page.goto(`${ingressUrl}/inbox#token=${jwt}`);
    await page.locator("#live[data-state=live]").waitFor();
    expect(page.url()).not.toContain("token=");
    await screenshot("empty-inbox");

    // New candidate: the form says what the send will be and what it costs before sending.
    await page.locator("#new-candidate summary").click();
    await page.fill("#nc-phone", CANDIDATE.phone);
    await page.fill("#nc-name", CANDIDATE.name);
    await page.fill("#nc-job", CANDIDATE.job);
    await expect
      .poll(() => page.textContent("#nc-plan"))
      .toContain("First contact: template “application_received” · 0.40 MAD");
    await screenshot("new-candidate-form");
    await page.click("#new-candidate-form button[type=submit]");

    // The conversation opens with the queued template; the simulator's statuses advance its ticks.
    const template = page.locator('#messages .msg[data-direction="outbound"][data-kind="template"]');
    await template.waitFor();
    await expect.poll(() => template.getAttribute("data-status")).toMatch(/^(queued|sending|sent|delivered|read)$/);
    await expect.poll(() => page.textContent("#composer-plan")).toContain("Template “application_received” · 0.40 MAD");
    await page
      .locator(
        '#messages .msg[data-kind="template"] .ticks[data-status="sent"], #messages .msg[data-kind="template"] .ticks[data-status="delivered"]',
      )
      .first()
      .waitFor();
    await screenshot("template-sent");
    await page.locator('#messages .msg[data-kind="template"] .ticks[data-status="read"]').waitFor();
    await screenshot("template-read");
    const templateId = (await template.getAttribute("data-id"))!;
    const seen: string[] = await page.evaluate(
      `window.__statusLog.filter((e) => e.id === ${JSON.stringify(templateId)}).map((e) => e.status)`,
    );
    // Forward only, ending read, and passed through delivered (the double tick) on the way.
    expect(seen.at(-1)).toBe("read");
    expect(seen).toContain("delivered");
    const rank = ["queued", "sending", "sent", "delivered", "read"];
    expect(seen.map((s) => rank.indexOf(s))).toEqual([...seen.map((s) => rank.indexOf(s))].sort((a, b) => a - b));
    expect(await page.getAttribute("#composer-text", "disabled")).not.toBeNull();

    // The candidate replies (the simulator plays them): the window opens, the composer switches.
    await page.click('[data-demo="reply"]');
    await page.locator('#messages .msg[data-direction="inbound"]').first().waitFor();
    await expect.poll(() => page.getAttribute("#thread-window", "data-open")).toBe("true");
    await expect
      .poll(() => page.textContent("#composer-plan"))
      .toContain("Free-form text · 0.40 MAD (service message)");
    expect(await page.getAttribute("#composer-text", "disabled")).toBeNull();
    await expect.poll(() => page.textContent(".conv[aria-current=true] .window")).toMatch(/^window \d+h \d{2}m$/);
    await screenshot("candidate-replied-window-open");

    // Free text inside the window.
    await page.fill("#composer-text", "Merci Yasmine ! Êtes-vous disponible demain à 10h pour un entretien ?");
    await page.click("#composer-send");
    const text = page.locator('#messages .msg[data-direction="outbound"][data-kind="text"]');
    await text.waitFor();
    await page.locator('#messages .msg[data-kind="text"] .ticks[data-status="read"]').waitFor();
    await screenshot("free-text-read");

    // The candidate sends a CV, then reacts: rendered as a document and as a reaction.
    await page.click('[data-demo="document"]');
    await page.locator('#messages .msg[data-type="document"]').waitFor();
    expect(await page.textContent('#messages .msg[data-type="document"] .media-name')).toMatch(/^CV_.*\.pdf$/);
    await page.click('[data-demo="reaction"]');
    await page.locator('#messages .msg[data-has-reaction="true"]').waitFor();
    await screenshot("cv-and-reaction");

    // Arabic is laid out right-to-left (dir="auto" on every text node).
    await page.click('[data-demo="reply"]');
    const arabic = page.locator('#messages .msg[data-direction="inbound"] .msg-text', { hasText: "مرحبا" });
    await arabic.waitFor();
    // (polled: a live update may replace the element between the lookup and the evaluation)
    // Runs in the page, on its window (the test's own types have no DOM library).
    const direction = (n: unknown) => (globalThis as unknown as PageWindow).getComputedStyle(n).direction;
    await expect.poll(() => arabic.evaluate(direction)).toBe("rtl");
    await screenshot("arabic-rtl");

    // Opened thread: nothing unread, and all of it without a reload.
    await expect
      .poll(async () => (await db.conversations.findOne({ clientId: client._id }).lean())?.unreadCount)
      .toBe(0);
    expect(loads).toBe(1);

    // Sent at the simulator: one template then one text, to the normalised number.
    const sent = messagingState(sim.state)
      .accepted.filter((m) => m.to === CANDIDATE.waId)
      .map((m) => m.type);
    expect(sent).toEqual(["template", "text"]);
    expect(outside).toEqual([]);
  });

  it("marks the candidate's messages read at WhatsApp, replies to one, reacts, and shows a button reply against the question", async () => {
    const conv = (await db.conversations.findOne({ clientId: client._id }).lean())!;
    const candidateMessages = await db.messages
      .find({ conversationId: conv._id, direction: "inbound", type: { $ne: "reaction" } })
      .sort({ timestamp: -1, _id: -1 })
      .lean();
    const latest = candidateMessages[0]!;
    const graphCalls = () => sim.state.requestsTo(/\/messages$/, "POST").map((r) => r.body as GraphMessageBody);
    // The open conversation marked the candidate's latest message read at Meta.
    await expect.poll(() => graphCalls().some((b) => b.status === "read" && b.message_id === latest.wamid)).toBe(true);

    // Typing in the composer shows "typing…" to the candidate (a read receipt with the indicator).
    await page.fill("#composer-text", "Je regarde votre CV");
    await expect
      .poll(() => graphCalls().some((b) => b.status === "read" && b.typing_indicator?.type === "text"))
      .toBe(true);
    await page.fill("#composer-text", "");

    // Reply to the candidate's first message from its Reply button.
    const first = candidateMessages.at(-1)!;
    await page
      .locator(`#messages .msg[data-id="${first._id.toHexString()}"] button[aria-label="Reply to this message"]`)
      .click();
    await expect.poll(() => page.textContent("#composer-reply-text")).toContain("Replying to:");
    await page.fill("#composer-text", "Bien reçu, merci !");
    await page.click("#composer-send");
    await expect
      .poll(() => graphCalls().find((b) => b.type === "text" && b.text?.body === "Bien reçu, merci !")?.context)
      .toEqual({ message_id: first.wamid });
    await page.locator('#messages .msg[data-direction="outbound"] .msg-reply-to').first().waitFor();
    expect(await page.isHidden("#composer-reply")).toBe(true);

    // React 👍 to it from the picker.
    await page
      .locator(`#messages .msg[data-id="${first._id.toHexString()}"] button[aria-label="React to this message"]`)
      .click();
    await page.locator(`#messages .msg[data-id="${first._id.toHexString()}"] button[aria-label="React 👍"]`).click();
    await expect
      .poll(() => graphCalls().find((b) => b.type === "reaction")?.reaction)
      .toEqual({ message_id: first.wamid, emoji: "👍" });
    await page.locator('#messages .msg[data-type="reaction"]', { hasText: "You reacted 👍" }).waitFor();

    // A question with reply buttons through the send API; the candidate taps "Oui, disponible".
    const question = "Êtes-vous disponible jeudi à 10h ?";
    const res = await fetch(`${ingressUrl}/api/messages/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      body: JSON.stringify({
        candidatePhone: CANDIDATE.waId,
        interactive: {
          type: "button",
          body: question,
          buttons: [
            { id: "oui", title: "Oui, disponible" },
            { id: "non", title: "Non" },
          ],
        },
      }),
    });
    expect(res.status).toBe(202);
    const { messageId } = (await res.json()) as { messageId: string };
    const asked = page.locator(`#messages .msg[data-id="${messageId}"][data-kind="interactive"]`);
    await asked.waitFor();
    expect(await asked.locator(".msg-choices li").allTextContents()).toEqual(["Oui, disponible", "Non"]);
    await expect.poll(async () => (await db.messages.findById(messageId).lean())?.wamid ?? null).not.toBeNull();
    const wamid = (await db.messages.findById(messageId).lean())!.wamid!;
    const tap = await fetch(`${sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        phoneNumberId: client.phoneNumberId,
        wabaId: client.wabaId,
        from: CANDIDATE.waId,
        type: "interactive",
        interactive: { type: "button_reply", id: "oui", title: "Oui, disponible" },
        context: { id: wamid },
      }),
    });
    expect(tap.status).toBe(200);
    const answer = page.locator('#messages .msg[data-direction="inbound"][data-type="interactive"]');
    await answer.waitFor();
    await expect.poll(() => answer.locator(".msg-reply-to").textContent()).toBe(`↪ reply to: ${question}`);
    expect(await answer.locator(".msg-text").textContent()).toBe("Oui, disponible");
    await screenshot("button-reply-against-question");

    // A quick-reply button of the first-contact template: shown against the template.
    const tpl = (await db.messages
      .findOne({ conversationId: conv._id, kind: "template" } as Record<string, unknown>)
      .lean())!;
    const quick = await fetch(`${sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        phoneNumberId: client.phoneNumberId,
        wabaId: client.wabaId,
        from: CANDIDATE.waId,
        type: "button",
        button: { text: "Je suis intéressée", payload: "interested", templateWamid: tpl.wamid },
      }),
    });
    expect(quick.status).toBe(200);
    const quickReply = page.locator('#messages .msg[data-direction="inbound"][data-type="button"]');
    await quickReply.waitFor();
    await expect
      .poll(() => quickReply.locator(".msg-reply-to").textContent())
      .toBe(`↪ reply to: Bonjour ${CANDIDATE.name}, votre candidature pour ${CANDIDATE.job} est bien reçue.`);
    expect(outside).toEqual([]);
  });

  it("answers a username-only candidate (sent with recipient, no phone), then sends a template with an image header once the window is closed", async () => {
    // A second recruiter whose default template has an IMAGE header, synced from "Meta".
    const simState = messagingState(sim.state);
    const photoClient = (
      await db.clients.create({
        userId: `recruiter-photo-${services.id}`,
        companyName: "Atlas Recrutement Casablanca",
        phoneNumberId: `1098${Date.now() % 1_000_000}`,
        wabaId: `2098${Date.now() % 1_000_000}`,
        whatsappNumber: "212522000098",
        status: "active",
        accessToken: new TokenVault([TEST_SECRETS.tokenKey]).encrypt(`tok-photo-${services.id}`),
        defaultTemplate: { name: "offre_photo", language: "fr" },
      })
    ).toObject();
    const body = "Bonjour {{1}}, une nouvelle offre vous attend : la photo du poste est ci-dessus.";
    simState.numbers.set(photoClient.phoneNumberId, photoClient.wabaId);
    simState.templates.set(photoClient.wabaId, [
      {
        ...simTemplate({ name: "offre_photo", language: "fr", body, category: "MARKETING" }),
        components: [
          { type: "HEADER", format: "IMAGE", example: { header_handle: ["4::aW1hZ2U="] } },
          { type: "BODY", text: body },
        ],
      },
    ]);
    await outbound.syncTemplates(photoClient._id.toHexString());
    await page.goto("about:blank");
    const photoJwt = await tokenFor(photoClient.userId, "recruiter");
    await page.goto(`${ingressUrl}/inbox#token=${photoJwt}`);
    await page.locator("#live[data-state=live]").waitFor();

    // A candidate who hides their phone writes: only a username and a WhatsApp user id.
    const userId = "MA.40000000000000000042";
    const wrote = await fetch(`${sim.url}/_sim/candidates/reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        phoneNumberId: photoClient.phoneNumberId,
        wabaId: photoClient.wabaId,
        userId,
        username: "salma.dev",
        name: "Salma Bennani",
        type: "text",
        text: "Bonjour, le poste de comptable est-il encore ouvert ?",
      }),
    });
    expect(wrote.status).toBe(200);
    await page.locator(".conv", { hasText: "Salma Bennani" }).click();
    await expect.poll(() => page.textContent("#thread-sub")).toBe(`@salma.dev · ${userId} · no phone number shared`);
    await expect
      .poll(() => page.textContent("#composer-plan"))
      .toContain("Free-form text · 0.40 MAD (service message)");
    expect(await page.isHidden("#composer-header")).toBe(true);
    await screenshot("username-only-candidate");

    // The recruiter answers from the composer: the send names the user id (recipient), no phone (to).
    await page.fill("#composer-text", "Bonjour Salma, oui : envoyez-nous votre CV ici.");
    await page.click("#composer-send");
    const sentTo = (type: string) =>
      simState.accepted.filter((m) => m.phoneNumberId === photoClient.phoneNumberId && m.type === type);
    await expect.poll(() => sentTo("text").length).toBe(1);
    expect(sentTo("text")[0]!.body).toMatchObject({
      recipient: userId,
      text: { body: "Bonjour Salma, oui : envoyez-nous votre CV ici." },
    });
    expect(sentTo("text")[0]!.body).not.toHaveProperty("to");
    await page
      .locator('#messages .msg[data-direction="outbound"][data-kind="text"] .ticks[data-status="read"]')
      .waitFor();

    // A day later the window is closed: the composer offers the template and asks for its header image.
    const conv = (await db.conversations.findOne({ clientId: photoClient._id }).lean())!;
    expect(conv.candidatePhone ?? null).toBeNull();
    await db.conversations.updateOne(
      { _id: conv._id },
      {
        $set: {
          windowExpiresAt: new Date(Date.now() - 3_600_000),
          lastInboundAt: new Date(Date.now() - 25 * 3_600_000),
        },
      },
    );
    await page.reload();
    await page.locator(".conv", { hasText: "Salma Bennani" }).click();
    await expect.poll(() => page.textContent("#composer-plan")).toContain("Template “offre_photo”");
    const link = page.getByLabel("Header image link (https)");
    await link.waitFor();
    expect(await page.getAttribute("#composer-text", "disabled")).not.toBeNull();
    // What the composer was told: by user id, the template's IMAGE header, usable once it is given.
    const preview = (query: string) =>
      fetch(`${ingressUrl}/inbox/api/send-preview?${query}`, { headers: { authorization: `Bearer ${photoJwt}` } });
    const told = await preview(`candidateUserId=${userId}`);
    expect(told.status).toBe(200);
    expect(await told.json()).toMatchObject({
      candidatePhone: null,
      candidateUserId: userId,
      conversationId: conv._id.toHexString(),
      kind: "template",
      template: {
        name: "offre_photo",
        usable: false,
        header: { format: "IMAGE", media: "image", usableWithHeader: true },
      },
    });
    const both = await preview(`candidateUserId=${userId}&candidatePhone=212600000000`);
    expect(both.status).toBe(400);
    expect(JSON.stringify(await both.json())).toContain("exactly one of candidatePhone and candidateUserId");

    // Without a link nothing is sent and the field says why; with an http link neither.
    await page.click("#composer-send");
    await expect.poll(() => page.textContent("#composer-error")).toContain("image header: give its https link");
    expect(await link.getAttribute("aria-invalid")).toBe("true");
    await link.fill("http://cdn.atlas-recrutement.ma/offres/comptable.jpg");
    await page.click("#composer-send");
    expect(await link.getAttribute("aria-invalid")).toBe("true");
    expect(sentTo("template")).toEqual([]);

    const photo = `${cdn.url}/offres/comptable.jpg`;
    await link.fill(photo);
    await page.click("#composer-send");
    await expect.poll(() => sentTo("template").length).toBe(1);
    const sent = sentTo("template")[0]!.body as GraphMessageBody;
    expect(sent.recipient).toBe(userId);
    expect(sent).not.toHaveProperty("to");
    expect(sent.template?.name).toBe("offre_photo");
    // Never a link to Meta: the worker fetched the image once, uploaded it, and sends its media id.
    expect(sent.template?.components).toContainEqual({
      type: "header",
      parameters: [{ type: "image", image: { id: expect.stringMatching(/^\d+$/) } }],
    });
    expect(cdn.hits.get("/offres/comptable.jpg")).toBe(1);
    expect(sent.template?.components).toContainEqual({
      type: "body",
      parameters: [{ type: "text", text: "Salma Bennani" }],
    });
    const shown = page.locator('#messages .msg[data-direction="outbound"][data-kind="template"]');
    await expect.poll(() => shown.locator(".msg-header").textContent()).toBe(`image header · ${photo}`);
    await shown.locator('.ticks[data-status="read"]').waitFor();
    await screenshot("template-with-image-header");
    expect(outside).toEqual([]);
  });

  it("shows the candidate's STOP on the open conversation, live, and a composer that offers no send until START", async () => {
    // The conversation of the previous test is open: its candidate (known by user id only) writes STOP.
    const photoClient = (await db.clients.findOne({ userId: `recruiter-photo-${services.id}` }).lean())!;
    const write = (text: string) =>
      fetch(`${sim.url}/_sim/candidates/reply`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          phoneNumberId: photoClient.phoneNumberId,
          wabaId: photoClient.wabaId,
          userId: "MA.40000000000000000042",
          username: "salma.dev",
          name: "Salma Bennani",
          type: "text",
          text,
        }),
      });
    expect((await write("STOP")).status).toBe(200);
    const badge = page.locator("#thread-opt-out");
    await badge.waitFor();
    await expect.poll(() => badge.textContent()).toMatch(/^Opted out: the candidate wrote STOP on .*START\.$/);
    expect(await badge.getAttribute("data-scope")).toBe("all");
    await screenshot("candidate-opted-out");

    // The composer says what the send API would refuse, and offers no send.
    await expect
      .poll(() => page.textContent("#composer-plan"))
      .toMatch(/^Cannot send: the candidate asked to stop .*START or REPRENDRE$/);
    expect(await page.getAttribute("#composer-send", "disabled")).not.toBeNull();

    expect((await write("START")).status).toBe(200);
    await badge.waitFor({ state: "hidden" });
    await expect.poll(() => page.textContent("#composer-plan")).toContain("Free-form text");
    expect(await page.getAttribute("#composer-send", "disabled")).toBeNull();
    expect(outside).toEqual([]);
  });
});
