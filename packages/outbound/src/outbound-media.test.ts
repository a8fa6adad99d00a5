import { createHash, randomBytes } from "node:crypto";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "@linkojob/db";
import { MetaSimulator } from "@linkojob/meta-simulator";
import { createRedis, type RedisClient } from "@linkojob/queues";
import { startTestCdn, testServices, type TestCdn } from "@linkojob/testing";
import { GraphClient, sendMedia } from "@linkojob/whatsapp";
import { MediaFetcher } from "./media-fetch.js";
import {
  MediaLinkCache,
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
let redis: RedisClient;
let cdn: TestCdn;
let fetcher: MediaFetcher;
const offer = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(30_000)]);
const token = "EAAG-outbound-media-token";
const clientId = new Types.ObjectId();

beforeAll(async () => {
  const services = testServices("outmedia");
  db = await Database.connect(services.mongoUrl);
  redis = createRedis(services.redisUrl);
  cdn = await startTestCdn({
    "/offres/offre-cariste.pdf": { body: offer, type: "application/pdf" },
    "/gone.pdf": { status: 404 },
  });
  fetcher = new MediaFetcher({ allowPrivateHosts: ["localhost"], ca: cdn.ca });
  sim = await MetaSimulator.create({ appSecret: "outbound-media-secret" });
  await sim.listen();
  graph = new GraphClient({ baseUrl: sim.url, version: "v26.0" });
});
afterAll(async () => {
  await fetcher?.close();
  await cdn?.close();
  redis?.disconnect();
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

  it("fetches a URL once, uploads it and sends it by id; every later message of that URL and number reuses the id", async () => {
    const prefix = `outmedia-${randomBytes(4).toString("hex")}`;
    const links = new MediaLinkCache(redis, prefix);
    const url = `${cdn.url}/offres/offre-cariste.pdf`;
    const stored = await acceptOutboundMedia(
      db,
      clientId,
      outboundMediaSchema.parse({ type: "document", url, caption: "Votre offre" }),
    );
    const messages = Array.from({ length: 5 }, () => new Types.ObjectId());
    await db.messages.collection.insertMany(
      messages.map((_id) => ({
        _id,
        clientId,
        direction: "outbound",
        type: "document",
        dedupeKey: `out:${_id.toHexString()}`,
      })),
    );
    const phoneNumberId = "106540352242933";
    const sends = await Promise.all(
      messages.map((messageId) =>
        prepareOutboundMedia(
          { db, graph, fetcher, links },
          { clientId, messageId, phoneNumberId, token, media: stored },
        ),
      ),
    );
    const id = sends[0]!.id!;
    expect(sends).toEqual(messages.map(() => ({ kind: "document", id, caption: "Votre offre" })));
    expect(cdn.hits.get("/offres/offre-cariste.pdf")).toBe(1);
    expect(sim.state.requestsTo(new RegExp(`/${phoneNumberId}/media$`), "POST")).toHaveLength(1);
    const uploaded = (await (await fetch(`${sim.url}/_sim/media/${id}`)).json()) as Record<string, unknown>;
    expect(uploaded).toMatchObject({
      mimeType: "application/pdf",
      filename: "offre-cariste.pdf",
      sha256: createHash("sha256").update(offer).digest("hex"),
    });
    // Another worker process (a new cache object on the same Redis) reuses the id too.
    const other = new Types.ObjectId();
    await db.messages.collection.insertOne({
      _id: other,
      clientId,
      direction: "outbound",
      type: "document",
      dedupeKey: `out:${other.toHexString()}`,
    });
    const later = await prepareOutboundMedia(
      { db, graph, fetcher, links: new MediaLinkCache(redis, prefix) },
      { clientId, messageId: other, phoneNumberId, token, media: stored },
    );
    expect(later.id).toBe(id);
    expect(cdn.hits.get("/offres/offre-cariste.pdf")).toBe(1);
  });

  it("a URL that cannot be fetched for good fails the message with its code; nothing is uploaded", async () => {
    const links = new MediaLinkCache(redis, `outmedia-${randomBytes(4).toString("hex")}`);
    const phoneNumberId = "106540352242944";
    for (const [url, code] of [
      [`${cdn.url}/gone.pdf`, "MEDIA_URL_FAILED"],
      ["https://10.0.0.7/offre.pdf", "MEDIA_URL_REFUSED"],
    ] as const) {
      const stored = await acceptOutboundMedia(db, clientId, outboundMediaSchema.parse({ type: "document", url }));
      await expect(
        prepareOutboundMedia(
          { db, graph, fetcher, links },
          { clientId, messageId: new Types.ObjectId(), phoneNumberId, token, media: stored },
        ),
      ).rejects.toMatchObject({ name: "OutboundMediaError", code });
    }
    expect(sim.state.requestsTo(new RegExp(`/${phoneNumberId}/media$`), "POST")).toHaveLength(0);
  });

  it("refuses oversize, unknown types and ambiguous sources", async () => {
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
