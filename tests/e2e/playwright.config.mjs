// End-to-end tests: Playwright drives the system's Chromium against the
// release build served by the real OMS. `cargo xtask test e2e` starts the
// servers and passes their URL in TILL_BASE_URL.
import { defineConfig } from "@playwright/test";

const baseURL = process.env.TILL_BASE_URL;
if (!baseURL) {
  throw new Error("TILL_BASE_URL is not set: run the end-to-end tests with `cargo xtask test e2e`");
}

export default defineConfig({
  testDir: ".",
  testMatch: /.*\.spec\.mjs$/,
  // Over HTTPS, with its own servers: `cargo xtask test https`.
  testIgnore: /https\.spec\.mjs$/,
  // One worker: the tests share one OMS and one bridge, as a store does.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.TILL_CHROMIUM || "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
