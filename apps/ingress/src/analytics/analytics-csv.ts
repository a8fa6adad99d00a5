import { stringify } from "csv-stringify/sync";

/**
 * Rows as CSV (RFC 4180 quoting by csv-stringify: separators, quotes and line breaks inside a field
 * are quoted), a header of every key met, in order of first appearance; null and missing as empty.
 * A field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
 */
export function toCsv(rows: Array<Record<string, unknown>>): string {
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  };
  return stringify(
    rows.map((r) => columns.map((c) => cell(r[c]))),
    { header: true, columns, record_delimiter: "\r\n", bom: false },
  );
}
