import type { UserWorkspaceConfig } from "vitest/config";

export interface ServiceProjectOptions {
  /** Test files, relative to the project; default: `*.test.ts` under `src/`. */
  include?: string[];
  /** Whether the tests need the real MongoDB-protocol server and Redis (global-setup.ts); default true. */
  services?: boolean;
  /** Per-test limit in ms; default 30 s. */
  testTimeout?: number;
  /** Per-hook limit in ms; default 120 s when services start (a first FerretDB build is slow), else Vitest's. */
  hookTimeout?: number;
}

/** The one Vitest project shape every app and package uses: its name, test files, services and limits. */
export declare function defineServiceProject(name: string, options?: ServiceProjectOptions): UserWorkspaceConfig;
