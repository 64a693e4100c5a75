// Trunk post_build hook: writes sw.js into the build with the list of files
// to precache (Trunk's hashed names) and a build id hashed from their
// contents, so a rebuild that changes any byte (even only wasm-opt's output,
// which keeps the same file name) installs as a new version.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

const staging = process.env.TRUNK_STAGING_DIR;
const source = process.env.TRUNK_SOURCE_DIR || ".";
if (!staging) {
  console.error("sw-precache: TRUNK_STAGING_DIR is not set (run through trunk build)");
  process.exit(1);
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = walk(staging)
  .map((path) => "/" + relative(staging, path).split(sep).join("/"))
  .filter((url) => url !== "/sw.js" && !url.startsWith("/.stage") && !/\.(br|gz)$/.test(url))
  .sort();
const hash = createHash("sha256");
for (const url of files) {
  hash.update(url);
  hash.update(readFileSync(join(staging, url)));
}
const build = hash.digest("hex").slice(0, 16);
const template = readFileSync(join(source, "public", "sw.js"), "utf8");
const sw = template.replace("__TILL_BUILD__", build).replace("__TILL_PRECACHE__", JSON.stringify(files));
writeFileSync(join(staging, "sw.js"), sw);
console.log(`sw-precache: build ${build}, ${files.length} files precached`);

// Then the precompressed copies (after the list: the service worker caches
// the files; the server picks their .br or .gz by Accept-Encoding).
await import("./precompress.mjs");
