import { SAFE_RAW_MAX_DEPTH } from "./safe-raw.js";

/**
 * What `safeRaw` never produces in a value about to be stored (what MongoDB 7 refuses, a query
 * would misread or JSON cannot carry): `$`-prefixed, dotted, NUL or `__proto__` keys; NUL or lone
 * surrogates in strings; non-finite numbers; `undefined`, bigints, functions, symbols; containers
 * deeper than `maxDepth`. Arrays directly inside arrays are not problems (MongoDB stores them; on
 * the FerretDB stand-in packages/db's adapter wraps them). Walks without recursion, so any depth can be checked. Returns
 * at most `limit` problems, each with its path; none means the value is safe.
 */
export function mongoSafetyProblems(value: unknown, opts: { maxDepth?: number; limit?: number } = {}): string[] {
  const maxDepth = opts.maxDepth ?? SAFE_RAW_MAX_DEPTH;
  const limit = opts.limit ?? 10;
  const problems: string[] = [];
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: "$", depth: 1 }];
  while (stack.length && problems.length < limit) {
    const { v, path, depth } = stack.pop()!;
    switch (typeof v) {
      case "string":
        if (v.includes("\u0000")) problems.push(`${path}: string holds a NUL character`);
        else if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed())
          problems.push(`${path}: string holds a lone surrogate`);
        continue;
      case "number":
        if (!Number.isFinite(v)) problems.push(`${path}: non-finite number ${v}`);
        continue;
      case "boolean":
        continue;
      case "object":
        break;
      default:
        problems.push(`${path}: ${typeof v} cannot be stored`);
        continue;
    }
    if (v === null) continue;
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) problems.push(`${path}: invalid Date`);
      continue;
    }
    if (depth > maxDepth) {
      problems.push(`${path}: nested deeper than ${maxDepth}`);
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (key.startsWith("$")) problems.push(`${path}: key ${JSON.stringify(key)} starts with $`);
      if (key.includes(".")) problems.push(`${path}: key ${JSON.stringify(key)} holds a dot`);
      if (key.includes("\u0000")) problems.push(`${path}: key holds a NUL character`);
      if (key === "__proto__") problems.push(`${path}: key __proto__`);
      if (!(key as unknown as { isWellFormed(): boolean }).isWellFormed())
        problems.push(`${path}: key holds a lone surrogate`);
      stack.push({ v: (v as Record<string, unknown>)[key], path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return problems.slice(0, limit);
}

export const isMongoSafe = (value: unknown, opts?: { maxDepth?: number }): boolean =>
  mongoSafetyProblems(value, { ...opts, limit: 1 }).length === 0;
