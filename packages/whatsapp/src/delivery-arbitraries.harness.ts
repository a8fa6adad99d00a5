import fc from "fast-check";
import {
  change,
  contact,
  delivery,
  entry,
  message,
  messagesValue,
  nestedArrays,
  nestedObjects,
  samples,
  statusSamples,
  valueError,
  withOwnKeys,
  WABA,
} from "./webhook-fixtures.harness.js";

/**
 * fast-check arbitraries for the normalizer: deliveries built from the payload shapes Meta documents,
 * with one element mutated (wrong types, nulls, missing and extra fields, prototype-named keys and
 * types, `$` / `.` / NUL keys, nesting up to 20,000 levels, huge and non-finite numbers, unicode edge
 * cases) next to one valid sibling message whose place is known.
 */

export const SIBLING_WAMID = "wamid.SIBLING==";
export const SIBLING_BODY = "le message valide à garder ✅";

export const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"] as const;

export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...PROTOTYPE_NAMES,
    "$set",
    "$where",
    "$",
    "a.b",
    ".",
    "..",
    "\u0000",
    "k\u0000ey",
    "",
    "%",
    "%24x",
    "\uD800",
    "\uDC00x",
    "id",
    "type",
    "timestamp",
    "from",
    "text",
    "body",
    "value",
    "field",
    "changes",
    "metadata",
  ),
  fc.string({ unit: "binary", maxLength: 8 }),
);

const weirdString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\uD800",
    "\uDFFF",
    "a\uD83D",
    "😀",
    "\u202Eevil",
    "\uFEFF",
    "9999999999",
    "99999999999999999999",
    "-1",
    "1e9",
    "NaN",
    "wamid.",
    "text",
    ...PROTOTYPE_NAMES,
  ),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.constantFrom(70_000, 300).map((n) => "é".repeat(n)),
);

const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    Infinity,
    -Infinity,
    Number.NaN,
    -0,
    1e308,
    -1e308,
    2 ** 53 + 2,
    2 ** 64,
    9_999_999_999,
    1e21,
    Number.MIN_VALUE,
    102290129340398,
  ),
  fc.double(),
  fc.integer(),
);

const deepNesting: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.oneof(fc.constant(20_000), fc.integer({ min: 28, max: 40 }), fc.integer({ min: 1, max: 500 })),
    fc.boolean(),
  )
  .map(([depth, arrays]) => (arrays ? nestedArrays(depth) : nestedObjects(depth)));

export const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    weirdNumber,
    weirdString,
    deepNesting,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.array(fc.tuple(nastyKey, tie("value")), { maxLength: 4 }).map((pairs) => withOwnKeys(pairs)),
  ),
})).value;

const nastyTimestamp: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    "9999999999",
    "99999999999999999999",
    "-5",
    "abc",
    "",
    "1.5",
    "0x10",
    9_999_999_999,
    -1,
    1e21,
    Infinity,
    -Infinity,
    Number.NaN,
    null,
    true,
  ),
  nastyValue,
);

export type Mutation =
  | { op: "replace"; value: unknown }
  | { op: "set"; key: string | number; value: unknown }
  | { op: "delete"; key: number }
  | { op: "deep"; value: unknown; seed: number }
  | { op: "prototypeType"; name: string }
  | { op: "timestamp"; value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("replace" as const), value: nastyValue }),
  fc.record({ op: fc.constant("set" as const), key: fc.oneof(nastyKey, fc.nat(20)), value: nastyValue }),
  fc.record({ op: fc.constant("delete" as const), key: fc.nat(20) }),
  fc.record({ op: fc.constant("deep" as const), value: nastyValue, seed: fc.nat() }),
  fc.record({ op: fc.constant("prototypeType" as const), name: fc.constantFrom(...PROTOTYPE_NAMES) }),
  fc.record({ op: fc.constant("timestamp" as const), value: nastyTimestamp }),
);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function define(o: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Applies a mutation to an element (objects are changed in place; the result replaces the element). */
export function mutate(element: unknown, m: Mutation): unknown {
  if (m.op === "replace") return m.value;
  if (!isObj(element)) return element;
  const keys = Object.keys(element);
  switch (m.op) {
    case "set":
      define(element, typeof m.key === "number" ? (keys[m.key % Math.max(1, keys.length)] ?? "extra") : m.key, m.value);
      return element;
    case "delete":
      if (keys.length) delete element[keys[m.key % keys.length]!];
      return element;
    case "deep": {
      // Walk down the element's own containers, choosing by the seed, and replace what is there.
      let holder: Record<string, unknown> | unknown[] = element;
      let seed = m.seed;
      for (let level = 0; level < 6; level++) {
        const ks = Array.isArray(holder) ? holder.map((_, i) => i) : Object.keys(holder);
        if (!ks.length) break;
        const k = ks[seed % ks.length]!;
        seed = Math.floor(seed / ks.length) + 7;
        const child: unknown = (holder as Record<string | number, unknown>)[k];
        if ((isObj(child) || Array.isArray(child)) && seed % 3 !== 0) {
          holder = child;
          continue;
        }
        if (Array.isArray(holder)) holder[k as number] = m.value;
        else define(holder, String(k), m.value);
        break;
      }
      return element;
    }
    case "prototypeType": {
      const part = typeof element.type === "string" ? element[element.type] : undefined;
      define(element, "type", m.name);
      define(element, "field", m.name);
      define(element, m.name, part ?? { body: "x" });
      return element;
    }
    case "timestamp":
      define(element, "timestamp", m.value);
      define(element, "time", m.value);
      return element;
  }
}

export type Level = "entry" | "change" | "value" | "message" | "status" | "error" | "contact";
export const LEVELS: Level[] = ["entry", "change", "value", "message", "status", "error", "contact"];

export interface Case {
  level: Level;
  payload: Record<string, unknown>;
  /** Path of the sibling message in the payload. */
  siblingPath: string;
  mutation: Mutation;
}

const sampleNames = Object.keys(samples) as Array<keyof typeof samples>;
const statusNames = Object.keys(statusSamples) as Array<keyof typeof statusSamples>;

const siblingMessage = () => message("text", { body: SIBLING_BODY }, { wamid: SIBLING_WAMID });

/** One delivery: a real-shaped element at `level`, mutated, next to the valid sibling (before or after it). */
export const mutatedDelivery: fc.Arbitrary<Case> = fc
  .record({
    level: fc.constantFrom(...LEVELS),
    mutation,
    siblingFirst: fc.boolean(),
    sample: fc.constantFrom(...sampleNames),
    statusSample: fc.constantFrom(...statusNames),
    accountChange: fc.boolean(),
  })
  .map(({ level, mutation: m, siblingFirst, sample, statusSample, accountChange }): Case => {
    const pair = <T>(bad: T, good: T): [T[], number] => (siblingFirst ? [[good, bad], 0] : [[bad, good], 1]);
    const c0 = "$.entry[0].changes[0]";
    switch (level) {
      case "message": {
        const [msgs, at] = pair(mutate(samples[sample](), m), siblingMessage());
        return {
          level,
          mutation: m,
          payload: delivery([entry([change(messagesValue({ contacts: [contact()], messages: msgs }))])]),
          siblingPath: `${c0}.value.messages[${at}]`,
        };
      }
      case "status": {
        const bad = mutate(statusSamples[statusSample](), m);
        return {
          level,
          mutation: m,
          payload: delivery([
            entry([change(messagesValue({ contacts: [contact()], messages: [siblingMessage()], statuses: [bad] }))]),
          ]),
          siblingPath: `${c0}.value.messages[0]`,
        };
      }
      case "error": {
        const bad = mutate(valueError(), m);
        return {
          level,
          mutation: m,
          payload: delivery([
            entry([
              change(
                messagesValue({
                  contacts: [contact()],
                  messages: [siblingMessage()],
                  errors: [valueError(131031), bad],
                }),
              ),
            ]),
          ]),
          siblingPath: `${c0}.value.messages[0]`,
        };
      }
      case "contact": {
        const bad = mutate(contact(), m);
        return {
          level,
          mutation: m,
          payload: delivery([
            entry([change(messagesValue({ contacts: [bad, contact()], messages: [siblingMessage()] }))]),
          ]),
          siblingPath: `${c0}.value.messages[0]`,
        };
      }
      case "value": {
        const badValue = mutate(
          messagesValue({
            contacts: [contact()],
            messages: [samples[sample]()],
            statuses: [statusSamples[statusSample]()],
          }),
          m,
        );
        const [changes, at] = pair(
          change(badValue),
          change(messagesValue({ contacts: [contact()], messages: [siblingMessage()] })),
        );
        return {
          level,
          mutation: m,
          payload: delivery([entry(changes)]),
          siblingPath: `$.entry[0].changes[${at}].value.messages[0]`,
        };
      }
      case "change": {
        const base = accountChange
          ? change(
              {
                event: "APPROVED",
                message_template_id: 1,
                message_template_name: "t",
                message_template_language: "fr",
              },
              "message_template_status_update",
            )
          : change(messagesValue({ contacts: [contact()], messages: [samples[sample]()] }));
        const [changes, at] = pair(
          mutate(base, m),
          change(messagesValue({ contacts: [contact()], messages: [siblingMessage()] })),
        );
        return {
          level,
          mutation: m,
          payload: delivery([entry(changes)]),
          siblingPath: `$.entry[0].changes[${at}].value.messages[0]`,
        };
      }
      case "entry": {
        const base = entry(
          [
            change(messagesValue({ contacts: [contact()], messages: [samples[sample]()] })),
            change({ event: "VERIFIED_ACCOUNT" }, "account_update"),
          ],
          WABA,
          { time: 1_700_000_000 },
        );
        const [entries, at] = pair(
          mutate(base, m),
          entry([change(messagesValue({ contacts: [contact()], messages: [siblingMessage()] }))]),
        );
        return {
          level,
          mutation: m,
          payload: delivery(entries),
          siblingPath: `$.entry[${at}].changes[0].value.messages[0]`,
        };
      }
    }
  });
