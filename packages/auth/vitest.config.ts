import { defineServiceProject } from "@linkojob/testing/vitest-preset";

// Resolved through the workspace root's devDependency: auth cannot list @linkojob/testing itself,
// which depends on auth (a cycle).
export default defineServiceProject("auth");
