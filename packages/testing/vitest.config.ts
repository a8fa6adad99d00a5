import { defineServiceProject } from "./src/vitest-preset.js";

export default defineServiceProject("testing");
