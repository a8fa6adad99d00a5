import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WhatsAppAPI } from "whatsapp-api-js";
import {
  ActionButtons,
  Body,
  BodyComponent,
  BodyParameter,
  Button,
  Document,
  Image,
  Interactive,
  Language,
  Location,
  Reaction,
  Template,
  Text,
} from "whatsapp-api-js/messages";
import { DEFAULT_GRAPH_API_VERSION } from "@linkojob/config";
import { messagingState, settleStatusFlows } from "./graph/messaging-state.js";
import { MetaSimulator } from "./simulator.js";
import { mediaKinds } from "./webhooks/payloads.js";

/**
 * The simulator against a published WhatsApp client library (whatsapp-api-js, a devDependency of
 * these tests), used as its users use it against Meta: the library builds every Graph request itself
 * (only its host is pointed at the simulator), and its webhook handler verifies the signature Meta's
 * way (it escapes the body it received to `\uXXXX` before hashing) and parses every delivery. Every
 * request it makes must be accepted, and every webhook the simulator sends must verify and parse.
 */

const appSecret = "published-client-app-secret";
const token = "EAAG-published-client-token";
const business = { phoneNumberId: "106540352242922", wabaId: "102290129340398", displayPhoneNumber: "212522000009" };
const candidate = { from: "212612340001", name: "Yasmine Benali — ياسمين" };

let sim: MetaSimulator;
let receiver: Server;
let receiverUrl: string;
/** What the library's webhook handler saw: its parsed callbacks, and the deliveries it refused. */
const seen: { messages: Array<Record<string, unknown>>; statuses: Array<Record<string, unknown>>; refused: string[] } =
  { messages: [], statuses: [], refused: [] };

/** The library as an app would configure it, its requests sent to the simulator instead of graph.facebook.com. */
function client(): WhatsAppAPI {
  const api = new WhatsAppAPI({
    token,
    appSecret,
    webhookVerifyToken: "verify-me-please",
    v: DEFAULT_GRAPH_API_VERSION,
    ponyfill: {
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        return fetch(url.replace(/^https:\/\/graph\.facebook\.com/, sim.url), init);
      },
    },
  });
  api.on = {
    message: (args) => void seen.messages.push({ ...args.message, contact: args.contact, phoneID: args.phoneID }),
    status: (args) =>
      void seen.statuses.push({ id: args.id, status: args.status, pricing: args.pricing, contact: args.contact }),
    call: {},
  };
  return api;
}

let api: WhatsAppAPI;

beforeAll(async () => {
  // The app's webhook endpoint, written as the library's documentation shows: the raw body and the
  // signature header go to `post`, which throws when the signature does not verify.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      api
        .post(JSON.parse(raw) as never, raw, req.headers["x-hub-signature-256"] as string)
        .then(() => res.writeHead(200).end())
        .catch((err: Error & { httpStatus?: number }) => {
          // The library answers "Unexpected payload" (its 200) for fields it has no callback for.
          if (err.httpStatus === 200) return res.writeHead(200).end();
          seen.refused.push(`${err.constructor.name}: ${err.message}`);
          res.writeHead(err.httpStatus ?? 500).end();
        });
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`;
  sim = await MetaSimulator.create({ appSecret, webhookUrl: receiverUrl });
  await sim.listen();
  api = client();
});
afterAll(async () => {
  await sim?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});
beforeEach(() => {
  seen.messages.length = 0;
  seen.statuses.length = 0;
  seen.refused.length = 0;
});

async function simControl(path: string, body: Record<string, unknown>) {
  const res = await fetch(`${sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { delivery?: { status: number }; wamid?: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

describe("webhooks the simulator sends verify and parse in whatsapp-api-js", () => {
  const texts = {
    French: "Très bien, je suis disponible à 14h",
    Arabic: "مرحبا، أنا مهتم بالوظيفة",
    emoji: "Merci 🙏🏽 à demain 👋",
  };

  it.each(Object.entries(texts))(
    "a %s text arrives verified, with the text, the ids and the profile",
    async (_l, text) => {
      const res = await simControl("/_sim/candidates/reply", { ...business, ...candidate, type: "text", text });
      expect(res.delivery!.status).toBe(200);
      expect(seen.refused).toEqual([]);
      expect(seen.messages).toEqual([
        expect.objectContaining({
          id: res.wamid,
          from: candidate.from,
          from_user_id: expect.stringMatching(/^MA\./),
          type: "text",
          text: { body: text },
          phoneID: business.phoneNumberId,
          contact: expect.objectContaining({ wa_id: candidate.from, profile: { name: candidate.name } }),
        }),
      ]);
    },
  );

  it.each([...mediaKinds])("an inbound %s arrives verified with its id and Meta's lookaside url", async (kind) => {
    const res = await simControl("/_sim/candidates/reply", { ...business, ...candidate, type: kind, text: undefined });
    expect(res.delivery!.status).toBe(200);
    expect(seen.refused).toEqual([]);
    expect(seen.messages[0]).toMatchObject({
      type: kind,
      [kind]: { id: expect.stringMatching(/^\d+$/), url: expect.stringMatching(/^https:\/\/lookaside\.fbsbx\.com\//) },
    });
  });

  it("a username-only candidate (no phone) arrives with the user id and the username", async () => {
    const res = await simControl("/_sim/candidates/reply", {
      ...business,
      userId: "MA.10000000000000000042",
      username: "yasmine.b",
      type: "text",
      text: "Bonjour",
    });
    expect(res.delivery!.status).toBe(200);
    expect(seen.messages[0]).toMatchObject({
      from_user_id: "MA.10000000000000000042",
      contact: { user_id: "MA.10000000000000000042", profile: { username: "yasmine.b" } },
    });
    expect(seen.messages[0]).not.toHaveProperty("from");
  });

  it("every status of a send arrives verified, with the pricing on sent and delivered", async () => {
    await simControl("/_sim/candidates/reply", { ...business, ...candidate, type: "text", text: "Bonjour" });
    const sent = (await api.sendMessage(business.phoneNumberId, candidate.from, new Text("Merci, à bientôt !"))) as {
      messages: Array<{ id: string }>;
    };
    await settleStatusFlows(messagingState(sim.state));
    expect(seen.refused).toEqual([]);
    const mine = seen.statuses.filter((s) => s.id === sent.messages[0]!.id);
    expect(mine.map((s) => s.status)).toEqual(["sent", "delivered", "read"]);
    expect(mine.map((s) => (s.pricing as { category?: string } | undefined)?.category ?? null)).toEqual([
      "service",
      "service",
      null,
    ]);
    expect(mine[0]!.contact).toMatchObject({ wa_id: candidate.from, user_id: expect.stringMatching(/^MA\./) });
  });

  it("raw UTF-8 (what the simulator sent by default before) fails the library's check; Meta's escaped form passes", async () => {
    const raw = await simControl("/_sim/candidates/reply", {
      ...business,
      ...candidate,
      type: "text",
      text: "Déjà postulé",
      encoding: "utf8",
    });
    expect(raw.delivery!.status).toBe(401);
    expect(seen.refused).toEqual([expect.stringContaining("WhatsAppAPIFailedToVerifyError")]);
    const ascii = await simControl("/_sim/candidates/reply", {
      ...business,
      from: candidate.from,
      name: "Yasmine",
      type: "text",
      text: "Deja",
      encoding: "utf8",
    });
    expect(ascii.delivery!.status).toBe(200);
  });

  it("a forged signature is refused by the library, as it should be", async () => {
    const res = await simControl("/_sim/webhooks/deliver", {
      payload: { object: "whatsapp_business_account", entry: [] },
      signature: `sha256=${"0".repeat(64)}`,
    });
    expect(res.delivery!.status).toBe(401);
    expect(seen.refused).toEqual([expect.stringContaining("WhatsAppAPIFailedToVerifyError")]);
  });
});

describe("every request whatsapp-api-js makes is accepted by the simulator", () => {
  it("sends a text, a template, an image and a document by link, buttons, a location, a reaction and a send by user id", async () => {
    // One recipient per message: Meta's pair rate (about one message every 6 s to one user) applies.
    const to = (n: number) => `21261234${String(1000 + n)}`;
    const messages = [
      new Text("Bonjour Yasmine", true),
      new Template(
        "application_received",
        new Language("fr"),
        new BodyComponent(new BodyParameter("Yasmine"), new BodyParameter("Cariste")),
      ),
      new Image("https://cdn.linkojob.ma/offre.jpg", false, "L'offre"),
      new Document("https://cdn.linkojob.ma/contrat.pdf", false, "Votre contrat", "contrat.pdf"),
      new Interactive(
        new ActionButtons(new Button("yes", "Oui, disponible"), new Button("no", "Pas disponible")),
        new Body("Êtes-vous disponible demain à 10h ?"),
      ),
      new Location(-7.5898, 33.5731, "LinkoJob", "Casablanca"),
      new Reaction("wamid.HBgMMjEyNjEyMzQwMDAyFQIAEhggQUFBQUFBQUFBQUFBQUFBQQA=", "👍"),
    ];
    const answers = (await Promise.all([
      ...messages.map((m, i) => api.sendMessage(business.phoneNumberId, to(i), m)),
      api.sendMessage(business.phoneNumberId, "MA.10000000000000000042", new Text("Par identifiant")),
    ])) as Array<{ messages?: Array<{ id: string }> }>;
    for (const answer of answers) {
      expect(answer, JSON.stringify(answer)).toMatchObject({
        messaging_product: "whatsapp",
        messages: [{ id: expect.stringMatching(/^wamid\./) }],
      });
    }
    const accepted = new Map(messagingState(sim.state).accepted.map((m) => [m.wamid, m]));
    const sentTypes = answers.map((a) => accepted.get(a.messages![0]!.id)?.type);
    expect(sentTypes).toEqual(["text", "template", "image", "document", "interactive", "location", "reaction", "text"]);
    expect(accepted.get(answers.at(-1)!.messages![0]!.id)!.recipientUserId).toBe("MA.10000000000000000042");
  });

  it("marks a message read with the typing indicator", async () => {
    const answer = await api.markAsRead(
      business.phoneNumberId,
      "wamid.HBgMMjEyNjEyMzQwMDAxFQIAEhggQkJCQkJCQkJCQkJCQkJCQgA=",
      "text",
    );
    expect(answer).toEqual({ success: true });
  });

  it("uploads media as the library builds the form, retrieves, downloads and deletes it", async () => {
    const form = new FormData();
    const pdf = Buffer.from("%PDF-1.4\nLinkoJob contrat de travail\n%%EOF\n");
    form.append("file", new Blob([pdf], { type: "application/pdf" }), "contrat.pdf");
    const uploaded = (await api.uploadMedia(business.phoneNumberId, form)) as { id: string };
    expect(uploaded).toEqual({ id: expect.stringMatching(/^\d+$/) });

    const info = (await api.retrieveMedia(uploaded.id, business.phoneNumberId)) as { url: string; mime_type: string };
    expect(info).toMatchObject({ id: uploaded.id, mime_type: "application/pdf", file_size: pdf.length });
    const download = await api.fetchMedia(info.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(pdf)).toBe(true);

    const sentById = await api.sendMessage(business.phoneNumberId, "212612340003", new Document(uploaded.id, true));
    expect(sentById).toMatchObject({ messages: [{ id: expect.stringMatching(/^wamid\./) }] });

    expect(await api.deleteMedia(uploaded.id, business.phoneNumberId)).toEqual({ success: true });
    expect(await api.retrieveMedia(uploaded.id)).toMatchObject({ error: { code: 100 } });
  });

  it("blocks and unblocks a candidate who wrote in the last 24 hours, on Graph's unversioned path", async () => {
    const who = "212612340004";
    await simControl("/_sim/candidates/reply", { ...business, from: who, type: "text", text: "Stop" });
    expect(await api.blockUser(business.phoneNumberId, who)).toEqual({
      messaging_product: "whatsapp",
      block_users: { added_users: [{ input: who, wa_id: who }] },
    });
    expect(await api.unblockUser(business.phoneNumberId, who)).toEqual({
      messaging_product: "whatsapp",
      block_users: { removed_users: [{ input: who, wa_id: who }] },
    });
  });
});
