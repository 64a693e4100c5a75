// Lighthouse benchmark, run by `cargo xtask bench lighthouse`: the mobile
// preset (simulated throttling) against the release build served by a real
// OMS, three runs, the median run (by performance score) reported next to
// the goals. Printed as a table and as one JSON line.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = process.env.TILL_LIGHTHOUSE;
const url = process.env.TILL_BENCH_OMS_URL + "/";
const chromium = process.env.TILL_CHROMIUM || "/usr/bin/chromium";
const RUNS = 3;

const dir = mkdtempSync(join(tmpdir(), "till-lighthouse-"));
const runs = [];
const lcpElements = [];
for (let i = 0; i < RUNS; i++) {
  const out = join(dir, `run${i}.json`);
  execFileSync(
    process.execPath,
    [
      cli,
      url,
      "--output=json",
      `--output-path=${out}`,
      "--only-categories=performance,accessibility",
      "--quiet",
      "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run",
    ],
    { env: { ...process.env, CHROME_PATH: chromium }, stdio: "inherit" },
  );
  const r = JSON.parse(readFileSync(out, "utf8"));
  if (r.runtimeError) throw new Error(`Lighthouse could not measure ${url}: ${r.runtimeError.message}`);
  runs.push({
    performance: Math.round(r.categories.performance.score * 100),
    accessibility: Math.round(r.categories.accessibility.score * 100),
    fcp_ms: r.audits["first-contentful-paint"].numericValue,
    speed_index_ms: r.audits["speed-index"].numericValue,
    lcp_ms: r.audits["largest-contentful-paint"].numericValue,
    tti_ms: r.audits["interactive"].numericValue,
    total_blocking_ms: r.audits["total-blocking-time"].numericValue,
    transfer_bytes: r.audits["total-byte-weight"].numericValue,
  });
  lcpElements.push(r.audits["largest-contentful-paint-element"]?.details?.items?.[0]?.items?.[0]?.node?.snippet ?? "?");
}
rmSync(dir, { recursive: true, force: true });
runs.sort((a, b) => a.performance - b.performance);
const median = runs[Math.floor(runs.length / 2)];

const goals = { performance: "≥ 95", accessibility: "100", fcp_ms: "", speed_index_ms: "", lcp_ms: "≤ 2500", tti_ms: "", total_blocking_ms: "≤ 200", transfer_bytes: "≤ 204800" };
console.log(`Lighthouse (mobile preset, simulated throttling; median of ${RUNS} runs by performance score; all runs: ${runs.map((r) => r.performance).join(", ")})`);
const pad = (s, n) => String(s).padEnd(n);
console.log(pad("figure", 22) + "value".padStart(10) + "   goal");
for (const [k, v] of Object.entries(median)) console.log(pad(k, 22) + String(Math.round(v)).padStart(10) + "   " + goals[k]);
console.log(`LCP element, each run: ${[...new Set(lcpElements)].join(" | ")}`);
console.log(JSON.stringify({ suite: "lighthouse", runs: RUNS, results: Object.entries(median).map(([name, value]) => ({ name, value, goal: goals[name] || null })) }));
