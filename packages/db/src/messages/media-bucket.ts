import mongoose from "mongoose";
import type { Database } from "../database.js";
import { MEDIA_BUCKET } from "./message.model.js";

/**
 * The GridFS bucket that holds media bytes (candidates' files and recruiters' uploads), over the
 * Mongoose connection. Works on FerretDB v1.24 as on MongoDB: measured here, upload in 255 KB chunks,
 * the unique (files_id, n) index, ranged reads and delete all behave (GridFS needs only insert, find
 * with sort, createIndexes and delete).
 */
export const mediaBucket = (db: Database) =>
  new mongoose.mongo.GridFSBucket(db.connection.db!, { bucketName: MEDIA_BUCKET });
