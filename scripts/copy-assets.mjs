// After `tsc` has compiled a workspace's src/ to dist/: copies the files tsc does not emit (Lua
// scripts, the inbox's static files, JSON data) to the same place under dist/, so that code reading
// them with `new URL("./x.lua", import.meta.url)` finds them beside the compiled module.
// Run from the workspace's folder (its package.json `build` script does).
import { cpSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";

const SKIP = new Set([".ts"]);

function copy(dir) {
  for (const name of readdirSync(join("src", dir))) {
    const rel = join(dir, name);
    if (statSync(join("src", rel)).isDirectory()) copy(rel);
    else if (!SKIP.has(extname(name)) && !name.endsWith("tsconfig.json")) cpSync(join("src", rel), join("dist", rel));
  }
}
copy("");
