import { createHash } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import mongoose, { type Types } from "mongoose";

export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

export interface StoredFile {
  fileId: Types.ObjectId;
  size: number;
  sha256: Buffer;
}

/**
 * Streams `source` into a new GridFS file while hashing and counting; stops at `limit` bytes. On any
 * failure the partial file is deleted (chunks included) and the error rethrown.
 */
export async function storeStream(
  bucket: mongoose.mongo.GridFSBucket,
  source: Readable,
  file: { filename: string; contentType: string; limit: number; metadata: Record<string, unknown> },
): Promise<StoredFile> {
  const hash = createHash("sha256");
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > file.limit) return cb(new TooLargeError(file.limit));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const upload = bucket.openUploadStream(file.filename, {
    metadata: { ...file.metadata, contentType: file.contentType },
  });
  const fileId = upload.id;
  try {
    await pipeline(source, meter, upload);
  } catch (err) {
    source.destroy();
    // delete() removes the chunks even when no files document was written, then throws "not found".
    await bucket.delete(fileId).catch(() => undefined);
    throw err;
  }
  return { fileId, size, sha256: hash.digest() };
}
