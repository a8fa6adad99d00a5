import { z } from "zod";
import { crossChecks } from "./vars.js";

/** Thrown at start-up when the environment is incomplete; its message lists every problem at once. */
export class EnvError extends Error {
  readonly code = "CONFIG_ERR_INVALID_ENV";
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/**
 * Parses `source` (an app's `env.ts` passes `process.env`) once with a zod object schema. Only an
 * app's `env.ts` calls this: the rest of the code receives the typed result.
 */
export function parseEnv<S extends z.ZodRawShape>(
  shape: S,
  source: Record<string, string | undefined>,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(source);
  if (result.success) {
    const problems = crossChecks.map((check) => check(result.data)).filter((p): p is string => p !== null);
    if (problems.length) throw new EnvError(problems);
    return result.data;
  }
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(root)";
    const present = source[String(issue.path[0])] !== undefined;
    return `${name}: ${present ? issue.message : "is required but not set"}`;
  });
  throw new EnvError(problems);
}
