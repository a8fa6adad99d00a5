import { describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { toCsv } from "./analytics-csv.js";

describe("analytics CSV", () => {
  it("quotes separators, quotes and line breaks, keeps Arabic text, and defuses spreadsheet formulas", () => {
    const csv = toCsv([
      { template: 'offre, "spéciale"', language: "fr", sent: 3 },
      { template: "تأكيد\nالموعد", language: "ar", sent: 0, extra: null },
      { template: "=HYPERLINK(1)", language: "fr", sent: 1 },
    ]);
    expect(csv.split("\r\n")[0]).toBe("template,language,sent,extra");
    expect(parse(csv, { columns: true })).toEqual([
      { template: 'offre, "spéciale"', language: "fr", sent: "3", extra: "" },
      { template: "تأكيد\nالموعد", language: "ar", sent: "0", extra: "" },
      { template: "'=HYPERLINK(1)", language: "fr", sent: "1", extra: "" },
    ]);
  });
});
