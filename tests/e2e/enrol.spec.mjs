// Enrolment, as a store's owner does it: each new tablet opens a one-time
// setup link (`cargo xtask serve --enrol` makes it with
// `till-oms registers enrol`) and becomes a register of its own; a tablet
// the back office removes (`till-oms registers revoke`) says so.
import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { env, signIn, openShift, exactCashSale, stored, ringUp, goPay, latestAttempt, backOnTheRegister, MANAGER_PIN } from "./helpers.mjs";

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

/// What one tablet's pairing gets from the bridge about `path`, asked
/// from that tablet's page (its own origin, its own token).
async function askBridge(page, path, method = "GET", body) {
  const [settings] = await stored(page, "settings");
  return page.evaluate(
    async ({ url, token, method, body }) => {
      const r = await fetch(url, {
        method,
        headers: { "X-Pairing-Token": token, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: r.status, body: await r.json() };
    },
    { url: `${env.bridge}${path}`, token: settings.pairing_token, method, body },
  );
}

test("a pairing made for one register cannot ask about, cancel or refund another register's payment", async ({ browser }) => {
  const tablets = [];
  for (let i = 0; i < 2; i++) {
    const tablet = await newTablet(browser, setupLink().link);
    await signIn(tablet.page, "Dana", MANAGER_PIN);
    await openShift(tablet.page, "100.00");
    await expect(tablet.page.getByRole("status", { name: "Status" })).toContainText("Bridge: connected", { timeout: 30_000 });
    tablets.push(tablet);
  }
  const [mine, theirs] = tablets.map((t) => t.page);
  // The other register takes a card payment (the terminal approves it).
  await ringUp(theirs, "Test: card approved (…00)");
  await goPay(theirs);
  await theirs.getByRole("button", { name: "Card (mPOS)" }).click();
  await backOnTheRegister(theirs);
  const paid = await latestAttempt(theirs);
  const own = await askBridge(theirs, `/v1/payments/${paid.reference}`);
  expect(own.status).toBe(200);
  expect(own.body.status).toBe("approved");
  // This register's pairing is refused, before anything reaches the terminal.
  const status = await askBridge(mine, `/v1/payments/${paid.reference}`);
  expect(status.status).toBe(403);
  expect(status.body.error).toBe("forbidden");
  const cancel = await askBridge(mine, `/v1/payments/${paid.reference}/cancel`, "POST");
  expect(cancel.status).toBe(403);
  const refund = await askBridge(mine, "/v1/refunds", "POST", {
    reference: crypto.randomUUID(),
    original: paid.reference,
    order_id: paid.order_id,
    amount: own.body.amount,
    currency: own.body.currency,
  });
  expect(refund.status).toBe(403);
  expect(refund.body.error).toBe("forbidden");
  // Still approved, and refunded by nobody.
  expect((await askBridge(theirs, `/v1/payments/${paid.reference}`)).body.status).toBe("approved");
  for (const { context } of tablets) await context.close();
});
