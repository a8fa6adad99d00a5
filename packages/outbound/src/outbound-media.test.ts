import { createHash, randomBytes } from "node:crypto";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { MetaSimulator } from "@linkojob/meta-simulator";
import { testServices } from "@linkojob/testing";
import { GraphClient, sendMedia } from "@linkojob/whatsapp";
import {
  OutboundMediaError,
  acceptOutboundMedia,
  outboundMediaSchema,
  prepareOutboundMedia,
} from "./outbound-media.js";

// Outbound media on real parts: GridFS staging on the MongoDB-protocol server, upload and send by id
// against the simulator over HTTP.
let db: Database;
let sim: MetaSimulator;
let graph: GraphClient;
const token = "EAAG-outbound-media-token";
const clientId = new Types.ObjectId();

beforeAll(async () => {
  db = await Database.connect(testServices("outmedia").mongoUrl);
  sim = await MetaSimulator.create({ appSecret: "outbound-media-secret" });
  await sim.listen();
  graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
});
afterAll(async () => {
  await graph?.close();
  await sim?.close();
  await db?.connection.dropDatabase().catch(() => undefined);
  await db?.close();
});

describe("outbound media", () => {
  it("stages a base64 image, uploads it to Meta once, and sends it by id", async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(5_000)]);
    const media = outboundMediaSchema.parse({ type: "image", base64: png.toString("base64"), caption: "Plan d'accès" });
    const stored = await acceptOutboundMedia(db, clientId, media);
    expect(stored).toMatchObject({ type: "image", mimeType: "image/png", caption: "Plan d'accès" });
    expect(stored.fileId).toMatch(/^[0-9a-f]{24}$/);

    const messageId = new Types.ObjectId();
    await db.messages.collection.insertOne({
      _id: messageId,
      clientId,
      direction: "outbound",
      type: "image",
      dedupeKey: `out:${messageId.toHexString()}`,
    });
    const input = { clientId, messageId, phoneNumberId: "106540352242922", token, media: stored };
    const send = await prepareOutboundMedia({ db, graph }, input);
    expect(send).toMatchObject({ kind: "image", caption: "Plan d'accès" });
    const uploaded = (await (await fetch(`${sim.url}/_sim/media/${send.id}`)).json()) as {
      sha256: string;
      mimeType: string;
    };
    expect(uploaded).toMatchObject({ mimeType: "image/png", sha256: createHash("sha256").update(png).digest("hex") });

    // A retried job reuses the id: one upload only.
    expect(await prepareOutboundMedia({ db, graph }, input)).toEqual(send);
    expect(sim.state.requestsTo(/\/106540352242922\/media$/, "POST")).toHaveLength(1);

    const result = await sendMedia(graph, { phoneNumberId: "106540352242922", to: "212661234567", token, media: send });
    expect(result.wamid).toMatch(/^wamid\./);
    const sent = sim.state.requestsTo(/\/106540352242922\/messages$/, "POST").at(-1)!.body;
    expect(sent).toMatchObject({ type: "image", image: { id: send.id, caption: "Plan d'accès" } });
  });

  it("passes a URL to Meta as a link, and refuses oversize, unknown types and ambiguous sources", async () => {
    const doc = outboundMediaSchema.parse({
      type: "document",
      url: "https://cdn.example.com/offre.pdf",
      filename: "Offre.pdf",
    });
    const stored = await acceptOutboundMedia(db, clientId, doc);
    expect(
      await prepareOutboundMedia(
        { db, graph },
        { clientId, messageId: new Types.ObjectId(), phoneNumberId: "1", token, media: stored },
      ),
    ).toEqual({
      kind: "document",
      link: "https://cdn.example.com/offre.pdf",
      filename: "Offre.pdf",
    });
    const big = outboundMediaSchema.parse({
      type: "image",
      mimeType: "image/jpeg",
      base64: Buffer.alloc(5 * 1024 * 1024 + 1).toString("base64"),
    });
    await expect(acceptOutboundMedia(db, clientId, big)).rejects.toMatchObject({ code: "MEDIA_TOO_LARGE" });
    await expect(
      acceptOutboundMedia(db, clientId, outboundMediaSchema.parse({ type: "image", base64: "aGVsbG8=" })),
    ).rejects.toBeInstanceOf(OutboundMediaError);
    expect(
      outboundMediaSchema.safeParse({ type: "image", url: "https://x.example/a.png", base64: "aGVsbG8=" }).success,
    ).toBe(false);
    expect(outboundMediaSchema.safeParse({ type: "image", url: "http://x.example/a.png" }).success).toBe(false);
    expect(
      outboundMediaSchema.safeParse({ type: "image", fileId: new Types.ObjectId().toHexString(), filename: "a.png" })
        .success,
    ).toBe(false);
  });
});
