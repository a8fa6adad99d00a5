import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_BUCKET } from "@linkojob/db";
import { outboundJobId } from "@linkojob/queues";
import { eventually, startTestCdn, type TestCdn } from "@linkojob/testing";
import { startOutbound, type OutboundRig } from "../harness/outbound.harness.js";

// Outbound media through the whole path: send API → GridFS + Redis (bytes) or the URL as given →
// outbound worker → (a URL fetched once from its host) → upload to the simulator's media endpoint →
// send by id, within the window rules. Never a `link`: Meta's own fetcher is rate-limited (131053).
const plan = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(40_000)]);
let rig: OutboundRig;
let cdn: TestCdn;
beforeAll(async () => {
  cdn = await startTestCdn({ "/plans/acces-agence.png": { body: plan, type: "image/png" } });
  rig = await startOutbound("outmediasend", { mediaFetch: { allowPrivateHosts: ["localhost"], ca: cdn.ca } });
});
afterAll(async () => {
  await rig?.close();
  await cdn?.close();
});

type Client = Awaited<ReturnType<OutboundRig["client"]>>;

let phoneSeq = 0;
const newPhone = () => `2127${String(20_000_000 + ++phoneSeq * 6133).slice(-8)}`;
const DONE = ["sent", "delivered", "read"];
const pdf = (size: number) => Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(size), Buffer.from("\n%%EOF\n")]);
const uploadsFrom = (c: Client) => rig.trunk.sim.state.requestsTo(new RegExp(`/${c.phoneNumberId}/media$`), "POST");
const mediaTo = (to: string) =>
  rig.sim.accepted.filter((m) => m.to === to && (m.type === "image" || m.type === "document"));
const stagedFiles = (c: Client) =>
  rig.trunk.db.connection
    .db!.collection(`${MEDIA_BUCKET}.files`)
    .countDocuments({ "metadata.clientId": c._id.toHexString() });
const simMedia = async (id: string) =>
  (await (await fetch(`${rig.trunk.sim.url}/_sim/media/${id}`)).json()) as Record<string, unknown>;

/** A client whose candidate wrote a minute ago: the 24-hour window is open. */
async function openWindow(): Promise<{ c: Client; phone: string }> {
  const c = await rig.client();
  const phone = newPhone();
  await rig.candidateWrites(c, phone, "Bonjour, voici mes disponibilités", 60_000);
  return { c, phone };
}

describe("media inside the 24-hour window", () => {
  it("a base64 PDF is staged, uploaded to Meta once, and sent by media id with filename and caption; jobs carry the file's id, never its bytes", async () => {
    const { c, phone } = await openWindow();
    const bytes = pdf(60_000);
    const base64 = bytes.toString("base64");
    const body = {
      candidatePhone: phone,
      media: {
        type: "document",
        base64,
        mimeType: "application/pdf",
        filename: "Fiche de poste.pdf",
        caption: "La fiche de poste",
      },
    };
    const res = await rig.send(c.jwt, body, { "idempotency-key": `media-${phone}` });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      success: true,
      messageId: expect.any(String),
      status: "queued",
      kind: "media",
      cost: 0.4, // a service message to Morocco, billed since 2026-10-01
      media: { willSend: true },
    });

    const m = await rig.until(c, res.body.messageId, DONE);
    expect(m).toMatchObject({ kind: "media", text: "La fiche de poste", cost: 0.4, costCategory: "service" });
    expect(m.request.media).toMatchObject({
      type: "document",
      mimeType: "application/pdf",
      filename: "Fiche de poste.pdf",
      fileId: expect.stringMatching(/^[0-9a-f]{24}$/),
    });

    // One upload, of exactly these bytes, then one send by that id.
    expect(uploadsFrom(c)).toHaveLength(1);
    const sent = rig.acceptedFor(res.body.messageId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.type).toBe("document");
    const doc = sent[0]!.body.document as { id: string; link?: string; filename: string; caption: string };
    expect(doc).toEqual({ id: expect.any(String), filename: "Fiche de poste.pdf", caption: "La fiche de poste" });
    expect(await simMedia(doc.id)).toMatchObject({
      mimeType: "application/pdf",
      filename: "Fiche de poste.pdf",
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      phoneNumberId: c.phoneNumberId,
    });

    // Neither the stored message nor the job holds the bytes or the token.
    const raw = JSON.stringify(await rig.trunk.db.messages.collection.findOne({ _id: m._id }));
    expect(raw).not.toContain(base64.slice(0, 200));
    expect(raw).not.toContain(c.token);
    const job = await rig.outbound.queue.getJob(outboundJobId(res.body.messageId));
    expect(job?.data).toMatchObject({ clientId: c._id.toHexString(), messageId: res.body.messageId });
    expect(
      Object.keys(job!.data).every((k) =>
        ["clientId", "messageId", "accepted", "stored", "slotAt", "uncertainChecks"].includes(k),
      ),
    ).toBe(true);
    // The accepted request it carries names the staged file, never its bytes.
    const queued = JSON.stringify(job!.data);
    expect(queued).toContain(m.request.media!.fileId!);
    expect(queued).not.toContain(base64.slice(0, 200));
    expect(queued).not.toContain(c.token);

    // The same request again (lost answer at the caller): the first answer, no second file or send.
    const again = await rig.send(c.jwt, body, { "idempotency-key": `media-${phone}` });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(res.body);
    expect(await stagedFiles(c)).toBe(1);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(1);
    expect(uploadsFrom(c)).toHaveLength(1);
  });

  it("an image by URL is fetched once by the worker, uploaded, and sent by id to every candidate, captioned with the message text", async () => {
    const { c, phone } = await openWindow();
    const second = newPhone();
    await rig.candidateWrites(c, second, "Bonjour", 60_000);
    const url = `${cdn.url}/plans/acces-agence.png`;
    const ids: string[] = [];
    for (const to of [phone, second]) {
      const res = await rig.send(c.jwt, {
        candidatePhone: to,
        message: "Le plan pour venir à l'entretien",
        media: { type: "image", url },
      });
      expect(res.body).toMatchObject({ kind: "media", cost: 0.4, media: { willSend: true } });
      await rig.until(c, res.body.messageId, DONE);
      ids.push(res.body.messageId);
    }
    const sent = ids.flatMap((id) => rig.acceptedFor(id));
    expect(sent.map((s) => s.type)).toEqual(["image", "image"]);
    const [a, b] = sent.map((s) => s.body.image as { id?: string; link?: string; caption?: string });
    expect(a).toEqual({ id: expect.stringMatching(/^\d+$/), caption: "Le plan pour venir à l'entretien" });
    expect(b!.id).toBe(a!.id);
    expect(a).not.toHaveProperty("link");
    expect(cdn.hits.get("/plans/acces-agence.png")).toBe(1);
    expect(uploadsFrom(c)).toHaveLength(1);
    expect(await simMedia(a!.id!)).toMatchObject({
      mimeType: "image/png",
      sha256: createHash("sha256").update(plan).digest("hex"),
    });
    expect(await stagedFiles(c)).toBe(0);
  });

  it("a media URL on a private address fails the message with MEDIA_URL_REFUSED; nothing reaches Meta", async () => {
    const { c, phone } = await openWindow();
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      media: { type: "document", url: "https://169.254.169.254/latest/meta-data/iam" },
    });
    expect(res.status).toBe(202);
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.reasonCode).toBe("MEDIA_URL_REFUSED");
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
    expect(uploadsFrom(c)).toHaveLength(0);
  });
});

describe("media with the window closed is never sent free-form", () => {
  it("first contact: the template goes alone, and the answer says the media is not sent", async () => {
    const c = await rig.client();
    const phone = newPhone();
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      candidateName: "Yasmine",
      jobTitle: "Comptable",
      media: { type: "document", base64: pdf(2_000).toString("base64"), filename: "Offre.pdf" },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      kind: "template",
      cost: 0.4,
      media: { willSend: false, reason: expect.stringMatching(/window is closed/) },
    });
    const m = await rig.until(c, res.body.messageId, DONE);
    expect(m.kind).toBe("template");
    expect(rig.acceptedFor(res.body.messageId).map((s) => s.type)).toEqual(["template"]);
    expect(mediaTo(phone)).toHaveLength(0);
    expect(uploadsFrom(c)).toHaveLength(0);
  });

  it("more than 24 hours later and no usable template: fails with WINDOW_CLOSED_NO_TEMPLATE, exactly as text does", async () => {
    const c = await rig.client({ templates: [] });
    const phone = newPhone();
    await rig.candidateWrites(c, phone, "Bonjour", 25 * 3_600_000);
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      media: { type: "image", url: "https://cdn.example.com/a.jpg", caption: "Photo" },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ kind: "template", media: { willSend: false } });
    const m = await rig.until(c, res.body.messageId, ["failed"]);
    expect(m.reasonCode).toBe("WINDOW_CLOSED_NO_TEMPLATE");
    expect(m.reason).toMatch(/24-hour window is closed/);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(0);
    expect(mediaTo(phone)).toHaveLength(0);
  });
});

describe("refused media leaves nothing stored or queued", () => {
  it("answers 413 over Meta's size limit or the body limit, 400 for bad base64 or an unsupported type", async () => {
    const { c, phone } = await openWindow();
    const before = rig.sim.accepted.length;
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(5 * 1024 * 1024 - 3)]);
    const cases: Array<[Record<string, unknown>, number, string]> = [
      // Over Meta's 5 MB for images, inside the 8 MiB body.
      [{ type: "image", base64: jpeg.toString("base64") }, 413, "MEDIA_TOO_LARGE"],
      // ~6.5 MB of document: over the send body limit (such files go by URL).
      [
        { type: "document", base64: pdf(6_500_000).toString("base64"), filename: "cv.pdf" },
        413,
        "FST_ERR_CTP_BODY_TOO_LARGE",
      ],
      [{ type: "document", base64: "not base64 at all!", filename: "cv.pdf" }, 400, "VALIDATION_ERROR"],
      [
        { type: "image", base64: Buffer.from("GIF89a....").toString("base64"), mimeType: "image/gif" },
        400,
        "VALIDATION_ERROR",
      ],
      // Bytes that are no JPEG or PNG, without a mimeType to say otherwise.
      [{ type: "image", base64: Buffer.from("hello, not an image").toString("base64") }, 400, "MEDIA_TYPE"],
      [{ type: "document", base64: "", filename: "vide.pdf" }, 400, "MEDIA_MISSING"],
    ];
    for (const [media, status, code] of cases) {
      const res = await rig.send(c.jwt, { candidatePhone: phone, message: "Voici", media });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code });
      expect(res.body.error?.message).toEqual(expect.any(String));
    }
    expect(await rig.trunk.db.messages.collection.countDocuments({ clientId: c._id, direction: "outbound" })).toBe(0);
    expect(await stagedFiles(c)).toBe(0);
    const jobs = await rig.outbound.queue.getJobs([
      "waiting",
      "delayed",
      "prioritized",
      "active",
      "completed",
      "failed",
    ]);
    expect(jobs.filter((j) => j?.data.clientId === c._id.toHexString())).toHaveLength(0);
    expect(rig.sim.accepted.length).toBe(before);
  });
});

describe("a retried media send uploads once", () => {
  it("a send that timed out (Meta accepted nothing) is sent again after the grace period by the same media id", async () => {
    const { c, phone } = await openWindow();
    rig.sim.faults.hangFor.set(phone, 1);
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      media: { type: "document", base64: pdf(20_000).toString("base64"), filename: "Contrat.pdf" },
    });
    const m = await rig.until(c, res.body.messageId, DONE);
    expect(m.sendAttempts).toBe(2);
    const sent = rig.acceptedFor(res.body.messageId);
    expect(sent).toHaveLength(1);
    expect(uploadsFrom(c)).toHaveLength(1);
    const stored = await rig.trunk.db.messages.collection.findOne({ _id: m._id });
    expect((sent[0]!.body.document as { id: string }).id).toBe(
      (stored as unknown as { mediaUpload: { id: string } }).mediaUpload.id,
    );
  });

  it("a send whose answer was lost (Meta accepted it) is not sent or uploaded again", async () => {
    const { c, phone } = await openWindow();
    rig.sim.faults.loseAnswerFor.set(phone, 1);
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      media: { type: "document", base64: pdf(20_000).toString("base64"), filename: "Contrat.pdf" },
    });
    const m = await rig.until(c, res.body.messageId, DONE);
    const sent = rig.acceptedFor(res.body.messageId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.answerLost).toBe(true);
    expect(m.wamid).toBe(sent[0]!.wamid);
    // The job checked again after the grace period and found it accepted: done, nothing redone.
    const job = await rig.outbound.queue.getJob(outboundJobId(res.body.messageId));
    expect(await eventually(async () => ((await job!.getState()) === "completed" ? true : null))).toBe(true);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(1);
    expect(uploadsFrom(c)).toHaveLength(1);
  });

  it("a transient Meta error on the send retries by the stored media id, no second upload", async () => {
    const { c, phone } = await openWindow();
    rig.sim.faults.byRecipient.set(phone, { code: 131000, times: 1, types: ["document"] });
    const res = await rig.send(c.jwt, {
      candidatePhone: phone,
      media: { type: "document", base64: pdf(20_000).toString("base64"), filename: "Contrat.pdf" },
    });
    const m = await rig.until(c, res.body.messageId, DONE);
    expect(m.sendAttempts).toBe(2);
    expect(rig.sim.rejected.filter((r) => r.to === phone && r.code === 131000)).toHaveLength(1);
    expect(rig.acceptedFor(res.body.messageId)).toHaveLength(1);
    expect(uploadsFrom(c)).toHaveLength(1);
  });
});
