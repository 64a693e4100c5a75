// Enrolment, as a store's owner does it: each new tablet opens a one-time
// setup link (`cargo xtask serve --enrol` makes it with
// `till-oms registers enrol`) and becomes a register of its own; a tablet
// the back office removes (`till-oms registers revoke`) says so.
import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { env, signIn, openShift, exactCashSale, stored, MANAGER_PIN } from "./helpers.mjs";

const base = process.env.TILL_BASE_URL;

function oms(...args) {
  return execFileSync(process.env.TILL_OMS_BIN, ["--data", process.env.TILL_OMS_DATA, ...args], { encoding: "utf8" });
}

/// The code the bridge shows (its page /pair, or `till-bridge pairings code`).
function pairingCode() {
  const out = execFileSync(process.env.TILL_BRIDGE_BIN, ["--data", process.env.TILL_BRIDGE_DATA, "pairings", "code"], { encoding: "utf8" });
  return out.match(/Pairing code: ([\d ]+) \(/)[1].replaceAll(" ", "");
}

/// A new one-time setup link, as `cargo xtask serve --enrol` prints it.
function setupLink() {
  const secret = oms("registers", "enrol").trim();
  const query = [["oms", base], ["enrol", secret], ["bridge", env.bridge], ["code", pairingCode()]]
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");
  return { secret, link: `${base}/#setup=${encodeURIComponent(query)}` };
}

/// A new tablet (its own browser storage) opens a link: enrolled, paired,
/// at the sign-in screen.
async function newTablet(browser, link) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible({ timeout: 15_000 });
  expect(new URL(page.url()).hash, "the secret left the address bar").toBe("");
  return { context, page };
}

/// The register id the tablet saved (Settings shows it).
async function registerOf(page) {
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Settings" }).click();
  const id = await page.getByLabel("Register id").inputValue();
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Register", exact: true }).click();
  return id;
}

async function sellOne(page) {
  await exactCashSale(page, "Espresso", "€2.40");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 30_000 });
  const orders = await stored(page, "orders");
  return orders.map((o) => o.number);
}

test("two tablets enrol from two links as two registers, and their order numbers never collide", async ({ browser, request }) => {
  const tablets = [];
  for (let i = 0; i < 2; i++) {
    // One after the other: a pairing code pairs one tablet.
    tablets.push(await newTablet(browser, setupLink().link));
  }
  const ids = [];
  const numbers = [];
  for (const { page } of tablets) {
    await signIn(page, "Dana", MANAGER_PIN);
    await openShift(page, "100.00");
    await expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: connected", { timeout: 30_000 });
    const id = await registerOf(page);
    expect(id).toMatch(/^R\d+$/);
    ids.push(id);
    const sold = await sellOne(page);
    expect(sold.length).toBe(1);
    expect(sold[0].startsWith(`${id}-`), sold[0]).toBe(true);
    numbers.push(sold[0]);
  }
  expect(ids[0]).not.toBe(ids[1]);
  expect(numbers[0]).not.toBe(numbers[1]);
  // The back office holds each sale under its own register.
  for (const [i, id] of ids.entries()) {
    const day = numbers[i].split("-")[1];
    const date = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
    const r = await request.get(`/api/v1/registers/${id}/orders?date=${date}`, { headers: { Authorization: `Bearer ${process.env.TILL_ADMIN_TOKEN}` } });
    expect(r.status()).toBe(200);
    const held = (await r.json()).orders.map((o) => o.order.number);
    expect(held).toEqual([numbers[i]]);
  }
  // The registers list names both, enrolled.
  const listed = oms("registers", "list");
  for (const id of ids) expect(listed).toMatch(new RegExp(`^${id}\\s+enrolled `, "m"));
  // A link works once: a third tablet with the first's secret is refused.
  const { secret } = setupLink();
  const again = await request.post("/api/v1/registers:enrol", { data: { secret } });
  expect(again.status()).toBe(201);
  const twice = await request.post("/api/v1/registers:enrol", { data: { secret } });
  expect(twice.status()).toBe(401);
  expect((await twice.json()).message).toContain("already used");
  for (const { context } of tablets) await context.close();
});

test("a register the back office removed is refused, says so, and keeps its sale", async ({ browser }) => {
  const { context, page } = await newTablet(browser, setupLink().link);
  await signIn(page, "Dana", MANAGER_PIN);
  await openShift(page, "100.00");
  const id = await registerOf(page);
  const status = page.getByRole("status", { name: "Status" });
  await expect(status).toContainText("0 unsynced", { timeout: 30_000 });
  expect(oms("registers", "revoke", id)).toContain(`removed register ${id}`);
  await exactCashSale(page, "Espresso", "€2.40");
  await expect(status).toContainText("This register was removed by the back office.", { timeout: 30_000 });
  // The sale stays on the tablet: nothing is lost.
  await expect(status).toContainText("1 unsynced");
  expect((await stored(page, "orders")).length).toBe(1);
  expect(oms("registers", "list")).toMatch(new RegExp(`^${id}\\s+removed `, "m"));
  await context.close();
});
