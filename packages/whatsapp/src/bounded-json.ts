/**
 * JSON text of any value, cut after `maxChars` characters, without recursion: `JSON.stringify`
 * overflows the stack on deeply nested input (20,000 levels of `[` parse fine but do not stringify).
 * Values JSON cannot hold are written so they stay visible: non-finite numbers and bigints as
 * strings, `undefined` and functions as `null`. The text is always well-formed UTF-16.
 */
export function boundedJson(value: unknown, maxChars: number): { text: string; truncated: boolean } {
  type Frame =
    | { kind: "array"; items: readonly unknown[]; i: number }
    | { kind: "object"; obj: Record<string, unknown>; keys: string[]; i: number };
  const stack: Frame[] = [];
  let out = "";
  let next: { value: unknown } | null = { value };

  while (out.length <= maxChars) {
    if (next) {
      const v = next.value;
      next = null;
      if (v !== null && typeof v === "object" && !(v instanceof Date)) {
        if (Array.isArray(v)) {
          out += "[";
          stack.push({ kind: "array", items: v, i: 0 });
        } else {
          out += "{";
          stack.push({ kind: "object", obj: v as Record<string, unknown>, keys: Object.keys(v), i: 0 });
        }
      } else {
        out += leafJson(v, maxChars - out.length + 1);
      }
      continue;
    }
    const top = stack[stack.length - 1];
    if (!top) break;
    if (top.kind === "array") {
      if (top.i >= top.items.length) {
        out += "]";
        stack.pop();
        continue;
      }
      if (top.i > 0) out += ",";
      next = { value: top.items[top.i++] };
    } else {
      if (top.i >= top.keys.length) {
        out += "}";
        stack.pop();
        continue;
      }
      const key = top.keys[top.i]!;
      if (top.i > 0) out += ",";
      top.i++;
      out += `${JSON.stringify(key.length > maxChars ? key.slice(0, maxChars + 1) : key)}:`;
      next = { value: top.obj[key] };
    }
  }
  const truncated = out.length > maxChars || stack.length > 0 || next !== null;
  return { text: wellFormed(truncated ? out.slice(0, maxChars) : out), truncated };
}

function leafJson(v: unknown, budget: number): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > budget ? v.slice(0, Math.max(0, budget)) : v);
    case "number":
      if (!Number.isFinite(v)) return `"${String(v)}"`;
      return Object.is(v, -0) ? "0" : String(v);
    case "boolean":
      return String(v);
    case "bigint":
      return `"${String(v)}"`;
    case "object":
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? '"Invalid Date"' : JSON.stringify(v.toISOString());
      return "null";
    default:
      return "null";
  }
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone UTF-16 surrogates (which no UTF-8 encoder can write) with U+FFFD. */
export function wellFormed(s: string): string {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed() ? s : s.replace(loneSurrogate, "\uFFFD");
}
