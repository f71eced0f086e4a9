import { describe, expect, it } from "vitest";
import { csvCell } from "../../portal-api/routes/statements.ts";

describe("statement CSV cells (OWASP CSV injection)", () => {
  it("neutralises every cell a spreadsheet would read as a formula", () => {
    for (const text of ["=1+2", "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1", "-", "+"])
      expect(csvCell(text).replace(/^"/, "")).toMatch(/^'/);
  });

  it("keeps plain numbers, negative ones included, as numbers", () => {
    expect(csvCell(-1250)).toBe("-1250");
    expect(csvCell("-12.5")).toBe("-12.5");
    expect(csvCell(0)).toBe("0");
    expect(csvCell("cpu")).toBe("cpu");
  });

  it("quotes cells with commas, quotes and line breaks (RFC 4180)", () => {
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("a\nb")).toBe('"a\nb"');
    expect(csvCell("\r=HYPERLINK()")).toBe(`"'\r=HYPERLINK()"`);
  });
});
