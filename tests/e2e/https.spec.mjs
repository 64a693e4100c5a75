// A store's LAN over HTTPS: the register is opened from the OMS over TLS,
// pairs with the bridge (over TLS) by the code the bridge shows, takes a
// card payment, and is refused once the bridge revokes its pairing. The
// same card payment over plain HTTP, on a second system started beside
// this one, gives the comparison the note reports.
//
// Then Chrome's Local Network Access, for real: the app opened as a public
// site (till.test, which that test's browser maps to this machine and
// treats as public) reaches the bridge on loopback only once the browser
// allows it. Until then the register asks nothing on load, sends nothing
// to the bridge, and says why; a card payment is refused before anything
// is sent. Once allowed, a card payment goes through, its requests naming
// the bridge's address space.
import { test, expect, chromium } from "@playwright/test";
import { execFileSync } from "node:child_process";
import https from "node:https";
import { signIn, openShift, ringUp, goPay, dialog, cart, MANAGER_PIN, env } from "./helpers.mjs";

const bridgeBin = process.env.TILL_BRIDGE_BIN;
const bridgeData = process.env.TILL_BRIDGE_DATA;
const plain = { app: process.env.TILL_PLAIN_BASE_URL, bridge: process.env.TILL_PLAIN_BRIDGE_URL };

/// `till-bridge pairings …` on the bridge's data folder, as its owner would.
function pairings(...args) {
  return execFileSync(bridgeBin, ["--data", bridgeData, "pairings", ...args], { encoding: "utf8" });
}

function pairingCode() {
  const m = pairings("code").match(/^Pairing code: (\d{3}) (\d{3})/m);
  expect(m, "the bridge printed a code").not.toBeNull();
  return m[1] + m[2];
}

/// A try at the pairing code from another address of this machine: to the
/// bridge, another device on the LAN. Its HTTP status.
function guessFrom(localAddress, code) {
  return new Promise((resolve, reject) => {
    const url = `${env.bridge}/v1/pairings`;
    const req = https.request(url, { method: "POST", localAddress, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ code, register: "R9" }));
  });
}

/// Register id and token, then the rest as the test says; signed in, with
/// a shift open.
async function setUpRegister(page, app, fill) {
  page.on("dialog", (d) => d.accept());
  await page.goto(`${app}/`);
  await expect(page.getByRole("heading", { name: "Set up this register" })).toBeVisible();
  await expect(page.getByLabel("OMS URL")).toHaveValue(app);
  await page.getByLabel("Register id").fill(env.registerId);
  await page.getByLabel("Register token").fill(env.registerToken);
  await fill();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible({ timeout: 15_000 });
  await signIn(page, "Dana", MANAGER_PIN);
  await openShift(page, "100.00");
}

/// The development way to reach a bridge: its URL and the shared pairing
/// token, then "Start selling".
const withSharedToken = (page, bridge) => async () => {
  await page.getByLabel("Bridge URL").fill(bridge);
  await page.getByLabel("Pairing token").fill(env.pairingToken);
  await page.getByRole("button", { name: "Start selling" }).click();
};

const bridgeConnected = (page) =>
  expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: connected", { timeout: 15_000 });

/// One card sale of an Espresso, from Pay to back on the register: how long it took.
async function cardSale(page) {
  await ringUp(page, "Espresso");
  await goPay(page);
  const started = Date.now();
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page)).toBeVisible();
  await expect(dialog(page)).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible();
  const took = Date.now() - started;
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
  return took;
}

test("over HTTPS: a guesser is locked out, the register pairs by code, pays by card, then is refused once revoked", async ({ page }) => {
  expect(env.bridge.startsWith("https://")).toBe(true);
  const app = new URL(process.env.TILL_BASE_URL).origin;
  expect(app.startsWith("https://")).toBe(true);
  await setUpRegister(page, app, async () => {
    await page.getByLabel("Bridge address").fill(env.bridge);
    const code = pairingCode();
    const wrong = code === "000000" ? "111111" : "000000";
    // Another device on the LAN guesses: after 5 wrong codes it is not
    // heard at all, even with the right one, and the code stays good.
    for (let n = 1; n <= 5; n++) expect(await guessFrom("127.0.0.2", wrong), `guess ${n}`).toBe(401);
    expect(await guessFrom("127.0.0.2", code)).toBe(429);
    await page.getByLabel("Pairing code").fill(wrong);
    await page.getByRole("button", { name: "Pair", exact: true }).click();
    await expect(page.getByRole("alert")).toContainText("That code is wrong or has expired");
    await page.getByLabel("Pairing code").fill(code);
    await page.getByRole("button", { name: "Pair", exact: true }).click();
  });
  await bridgeConnected(page);
  // The register holds a token of its own, which the bridge lists.
  const listed = pairings("list");
  const id = listed.match(/^(p-\w+)\s+R1\s.*\bpaired$/m)?.[1];
  expect(id, listed).toBeTruthy();
  // Settings says how the register is paired, and shows no token; saving
  // other settings keeps the pairing.
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("status").filter({ hasText: new RegExp(`^Paired as ${id} on \\d{4}-\\d{2}-\\d{2}`) })).toBeVisible();
  await expect(page.getByLabel("Register token")).toHaveValue("");
  await expect(page.getByLabel(/^Pairing token/)).toHaveValue("");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await page.getByRole("link", { name: "Register", exact: true }).click();
  await bridgeConnected(page);

  const https = await cardSale(page);

  pairings("revoke", id);
  await ringUp(page, "Espresso");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "This register is no longer paired" })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByLabel("Amount due")).toHaveText("€2.40");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: no longer paired", { timeout: 30_000 });
  // Unpair in Settings: the register holds no pairing any more.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("button", { name: "Unpair" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: /^Paired as/ })).toHaveCount(0);
  await expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: not paired", { timeout: 30_000 });
  test.info().annotations.push({ type: "card payment over HTTPS (ms)", description: String(https) });
  console.log(`card payment over HTTPS: ${https} ms`);
});

test("the same card payment over plain HTTP, for comparison", async ({ page }) => {
  await setUpRegister(page, plain.app, withSharedToken(page, plain.bridge));
  await bridgeConnected(page);
  const http = await cardSale(page);
  console.log(`card payment over HTTP: ${http} ms`);
});

test("from a public page the register waits for Local Network Access, then takes a card payment", async () => {
  const port = new URL(process.env.TILL_BASE_URL).port;
  const site = `https://till.test:${port}`;
  const browser = await chromium.launch({
    executablePath: process.env.TILL_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--host-resolver-rules=MAP till.test 127.0.0.1",
      // The store's CA, trusted as in the other tests (its certificate
      // names this machine, not till.test: only that CA's chains pass).
      `--ignore-certificate-errors-spki-list=${process.env.TILL_TLS_SPKI}`,
      // A public site, as a back office on the internet is.
      `--ip-address-space-overrides=127.0.0.1:${port}=public`,
    ],
  });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await setUpRegister(page, site, withSharedToken(page, env.bridge));
    const status = page.getByRole("status", { name: "Status" });
    await expect(status).toContainText("Bridge: permission needed", { timeout: 30_000 });

    await ringUp(page, "Espresso");
    await goPay(page);
    await page.getByRole("button", { name: "Card (mPOS)" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Bridge: permission needed" })).toBeVisible({ timeout: 15_000 });
    await expect(page.getByLabel("Amount due")).toHaveText("€2.40");

    // What the cashier's "Allow" does.
    await context.grantPermissions(["local-network-access"], { origin: site });
    await expect(status).toContainText("Bridge: connected", { timeout: 30_000 });
    await page.getByRole("button", { name: "Card (mPOS)" }).click();
    await expect(dialog(page)).toBeVisible();
    await expect(dialog(page)).toHaveCount(0, { timeout: 15_000 });
    await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible();
    await expect(cart(page).getByText("The cart is empty")).toBeVisible();
  } finally {
    await browser.close();
  }
});
