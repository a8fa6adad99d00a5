import type { UserWorkspaceConfig } from "vitest/config";

export interface ProjectOptions {
  /** Test files, relative to the project's root. */
  include?: string[];
  /** Per-test limit in ms; default 30 s (120 s for the system layer). */
  testTimeout?: number;
  /** Per-hook limit in ms; default 120 s where services start (a first FerretDB build is slow). */
  hookTimeout?: number;
}

/** The glob of unit tests (`*.unit.test.ts`): the service projects leave them to the unit project. */
export declare const UNIT_TEST_PATTERN: string;

/** The unit layer, defined once at the repository's root over every app and package: no services at all. */
export declare function defineUnitProject(options?: Omit<ProjectOptions, "hookTimeout">): UserWorkspaceConfig;

/** The service layer of one app or package (`service:<name>`): its tests against the real MongoDB-protocol server and Redis. */
export declare function defineServiceProject(name: string, options?: ProjectOptions): UserWorkspaceConfig;

/** The system layer (`e2e/`): the whole gateway as processes on the real services. */
export declare function defineSystemProject(options?: ProjectOptions): UserWorkspaceConfig;
