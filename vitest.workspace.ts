// The single list of test projects. The root vitest.config.ts reads it (Vitest >= 3.2 replaced the
// workspace file by `test.projects`; keeping the list here keeps one place to add a project).
export default ["apps/*", "packages/*", "e2e"];
