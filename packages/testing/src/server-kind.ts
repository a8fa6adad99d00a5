import type { Connection } from "mongoose";

/**
 * Whether `connection` talks to FerretDB (v1, the MongoDB stand-in of development and CI) rather than
 * MongoDB: FerretDB names its version in buildInfo (`ferretdbVersion`). Tests use it where FerretDB
 * keeps less than MongoDB guarantees: its findAndModify and update read the document, test it and
 * write it back without isolation from concurrent writers of that document, so two concurrent
 * conditional writes can both match, and the second can undo the first's fields. Such a test asserts
 * MongoDB's guarantee only on MongoDB, and on FerretDB what still holds, saying why.
 */
export async function isFerretDb(connection: Connection): Promise<boolean> {
  const info = await connection.db!.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === "string";
}
