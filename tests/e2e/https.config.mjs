// The whole system over HTTPS: the app from the OMS over TLS, the bridge
// over TLS, both with a certificate from a local CA that `cargo xtask test
// https` makes. Chromium trusts that CA alone, by its public key
// (--ignore-certificate-errors-spki-list): no other certificate error is
// ignored. Node (the tests' own requests) trusts it via NODE_EXTRA_CA_CERTS.
import { defineConfig } from "@playwright/test";
import base from "./playwright.config.mjs";

const spki = process.env.TILL_TLS_SPKI;
if (!spki) {
  throw new Error("TILL_TLS_SPKI is not set: run these tests with `cargo xtask test https`");
}

export default defineConfig({
  ...base,
  testMatch: /https\.spec\.mjs$/,
  testIgnore: [],
  // Its own folder: Playwright empties its output folder when it starts,
  // and this tier runs after e2e, whose failures' screenshots and traces
  // must still be there to read.
  outputDir: "test-results-https",
  use: {
    ...base.use,
    launchOptions: {
      ...base.use.launchOptions,
      args: [...base.use.launchOptions.args, `--ignore-certificate-errors-spki-list=${spki}`],
    },
  },
});
