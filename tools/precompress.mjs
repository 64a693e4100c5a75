// Run by the Trunk post_build hook (tools/sw-precache.mjs) last: writes `name.br` (brotli,
// quality 11) and `name.gz` (gzip, level 9) next to every text or wasm file
// of the build, once, at build time. till-oms serves them by the request's
// Accept-Encoding (tower-http's precompressed ServeDir): the best
// compression costs nothing per request.
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error("precompress: TRUNK_STAGING_DIR is not set (run through trunk build)");
  process.exit(1);
}

const COMPRESSIBLE = /\.(wasm|js|mjs|css|html|json|webmanifest|svg|txt)$/;
// Below this the headers cost more than compression saves.
const MIN_BYTES = 1024;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

let [files, raw, br, gz] = [0, 0, 0, 0];
for (const path of walk(staging)) {
  if (!COMPRESSIBLE.test(path) || relative(staging, path).startsWith(".stage")) continue;
  const bytes = readFileSync(path);
  if (bytes.length < MIN_BYTES) continue;
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  const gzip = gzipSync(bytes, { level: 9 });
  writeFileSync(path + ".br", brotli);
  writeFileSync(path + ".gz", gzip);
  files += 1;
  raw += bytes.length;
  br += brotli.length;
  gz += gzip.length;
}
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
console.log(`precompress: ${files} files, ${kb(raw)} raw, ${kb(gz)} gzip, ${kb(br)} brotli`);
