import { defineServiceProject } from "@linkojob/testing/vitest-preset";

export default defineServiceProject("errors");
