// @ts-check
// One lint configuration for the workspace: typescript-eslint's recommended type-checked rules, the
// layering rules (apps are leaves; packages never import apps) and "only env.ts reads process.env".
// Formatting is Prettier's (`pnpm format:check`); eslint-config-prettier turns off the rules it owns.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

/** The inbox page's ES modules: browser code, type-checked through their own tsconfig.json (JSDoc). */
const INBOX_PAGE = ["apps/ingress/src/inbox/static/**/*.js"];

/** The apps: processes, never imported by another app or by a package. */
const APPS = ["ingress", "inbound-worker", "outbound-worker", "realtime", "meta-sim"];

const appImports = {
  patterns: [
    {
      regex: `^@linkojob/(${APPS.join("|")})(/|$)`,
      message: "Apps are leaves: import a package (packages/*), never an app. Tests that compose apps live in e2e/.",
    },
    {
      regex: `^(\\.\\./)+(apps/)?(${APPS.join("|")})/`,
      message: "Apps are leaves: never reach into another app's files.",
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      ".tmp/**",
      "test-artifacts/**",
      "apps/ingress/src/analytics/static/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "no-restricted-imports": ["error", appImports],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "Only env.ts reads process.env (one zod schema, parsed once at start-up).",
        },
      ],
    },
  },
  {
    // Plain JavaScript (configs, the vitest preset, build scripts): no type information.
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  // The inbox page: linted like the TypeScript (type-checked rules, its types from JSDoc and
  // @linkojob/events), with the browser's globals instead of Node's.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: INBOX_PAGE })),
  {
    files: INBOX_PAGE,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser },
    },
  },
  {
    // Where the environment is read by design: each process's env.ts, and what runs outside the
    // product (tests and their harnesses, the test kit, benchmarks, scripts, the system tests).
    files: [
      "**/env.ts",
      "**/*.test.ts",
      "**/*.harness.ts",
      "packages/testing/**",
      "**/bench/**",
      "scripts/**",
      "e2e/**",
      "*.config.ts",
      "**/vitest.config.ts",
    ],
    rules: { "no-restricted-properties": "off" },
  },
  {
    // Tests read HTTP and socket payloads as JSON (`any`) and hold them to `expect`: typing every
    // response body again would add casts, not catch bugs. Every other type-checked rule applies.
    files: ["**/*.test.ts", "**/*.harness.ts", "e2e/**", "packages/testing/**"],
    rules: {
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // The system tests compose the apps (through their package exports, never by path).
    files: ["e2e/**"],
    rules: { "no-restricted-imports": "off" },
  },
  prettier,
);
