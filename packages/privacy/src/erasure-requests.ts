import { Queue } from "bullmq";
import type { Types } from "mongoose";
import type { Database, ErasureDoc, ErasureStatus } from "@linkojob/db";
import {
  ERASURE_JOB,
  ERASURE_QUEUE,
  erasureJobId,
  erasureJobOptions,
  type ErasureJob,
  type RedisClient,
} from "@linkojob/queues";
import type { IdentifierHasher } from "./keyed-hash.js";

/** An erasure as its requester may see it: where it stands and what it removed, never whom. */
export interface ErasureView {
  erasureId: string;
  status: ErasureStatus;
  allTenants: boolean;
  clientIds: string[];
  requestedAt: string;
  finishedAt: string | null;
  /** Documents, files, jobs and keys removed so far, by collection. */
  removed: Record<string, number>;
  error: { code: string; message: string } | null;
}

export interface ErasureRequest {
  /** The tenants it covers (one; or every one with `allTenants`, an admin's request). */
  clientIds: Types.ObjectId[];
  allTenants: boolean;
  phones: string[];
  userIds: string[];
  reason: string;
  requestedBy: { role: string; sub: string };
}

export const erasureView = (d: ErasureDoc): ErasureView => ({
  erasureId: d._id.toHexString(),
  status: d.status,
  allTenants: d.allTenants,
  clientIds: d.clientIds.map((c) => c.toHexString()),
  requestedAt: d.createdAt.toISOString(),
  finishedAt: d.finishedAt ? d.finishedAt.toISOString() : null,
  removed: { ...(d.removed ?? {}) },
  error: d.error ?? null,
});

/**
 * Files erasure requests: one `erasures` document (the identifiers in it only while it runs) and one
 * job naming its id. A second request for the same person and tenants while one runs (or after one
 * failed) answers with that one, and resumes it.
 */
export class ErasureRequests {
  private readonly queue: Queue<ErasureJob>;

  constructor(
    private readonly db: Database,
    redis: RedisClient,
    prefix: string,
    private readonly hasher: IdentifierHasher,
  ) {
    this.queue = new Queue<ErasureJob>(ERASURE_QUEUE, { connection: redis, prefix });
    // Redis errors surface on the request that meets them; an unhandled 'error' event must not crash the process.
    this.queue.on("error", () => undefined);
  }

  async request(req: ErasureRequest): Promise<ErasureView> {
    const scope = req.allTenants
      ? "*"
      : req.clientIds
          .map((c) => c.toHexString())
          .sort()
          .join(",");
    const subjectHash = this.hasher.subject({ phones: req.phones, userIds: req.userIds }, scope);
    let doc = await this.db.erasures
      .findOneAndUpdate(
        { subjectHash, status: { $in: ["running", "failed"] } },
        { $set: { status: "running", error: null, finishedAt: null } },
        { new: true },
      )
      .lean<ErasureDoc>();
    doc ??= (
      await this.db.erasures.create({
        clientIds: req.clientIds,
        allTenants: req.allTenants,
        subjectHash,
        subject: { phones: req.phones, userIds: req.userIds },
        reason: req.reason,
        requestedBy: req.requestedBy,
        status: "running",
        steps: [],
        removed: {},
      })
    ).toObject();
    const id = doc._id.toHexString();
    const job = await this.queue.add(ERASURE_JOB, { erasureId: id }, { ...erasureJobOptions, jobId: erasureJobId(id) });
    // The same id is one job: a failed one (attempts ran out) is retried instead of added again.
    if (await job.isFailed()) await job.retry("failed");
    return erasureView(doc);
  }

  /** The erasure, if it covers one of `visibleClientIds` (or any, for `all`). */
  async get(erasureId: Types.ObjectId, visibleClientIds: Types.ObjectId[] | "all"): Promise<ErasureView | null> {
    const doc = await this.db.erasures
      .findOne(
        visibleClientIds === "all" ? { _id: erasureId } : { _id: erasureId, clientIds: { $in: visibleClientIds } },
        { subject: 0, subjectHash: 0, reason: 0, requestedBy: 0 },
      )
      .lean<ErasureDoc>();
    return doc ? erasureView(doc) : null;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
