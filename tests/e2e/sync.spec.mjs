// Sync, reconciliation, Register Sales, day end: orders reach the back
// office exactly once, by themselves, and what is in doubt can be seen and
// settled.
import { test, expect } from "@playwright/test";
import { setUp, cart, simPost, charges, stored, omsPayments, ringUp, goPay, closeUnpaid, env } from "./helpers.mjs";

test.afterEach(async ({ request }) => {
  await request.post("/_faults/reset", { data: null });
  await charges(request);
});

/// One cash sale of `name`, paid with the exact amount.
async function cashSale(page, name) {
  await ringUp(page, name);
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  const due = await page.getByLabel("Amount due").textContent();
  await page.getByRole("button", { name: due, exact: true }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  // Paid: back on the register by itself, ready for the next sale.
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
}

async function omsDay(request) {
  const today = new Date();
  const date = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}-${String(today.getDate()).padStart(2, "0")}`;
  const r = await request.get(`/api/v1/registers/${env.registerId}/orders?date=${date}`, { headers: { Authorization: `Bearer ${env.registerToken}` } });
  return (await r.json()).orders.map((s) => s.order);
}

test("hole 14: 50 sales while the OMS is down all reach it exactly once when it is back", async ({ page, request }) => {
  // However long the 50 sales take on this machine, the back office stays
  // down until the test lifts it (hole 14: a fixed outage once ended first).
  test.setTimeout(300_000);
  await setUp(page);
  await request.post("/_faults/down", { data: null });
  for (let i = 0; i < 50; i++) await cashSale(page, "Espresso");
  const ids = (await stored(page, "orders")).map((o) => o.id);
  expect(ids).toHaveLength(50);
  await expect(page.getByRole("status", { name: "Status" })).toContainText("50 unsynced");
  // Back, but slow: the drain's progress shows while the batch is on its way.
  await request.post("/_faults/latency", { data: { ms: 3000 } });
  await request.post("/_faults/up", { data: null });
  await expect(page.getByText(/Syncing \d+ \/ 50/)).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 60_000 });
  const inOms = (await omsDay(request)).filter((o) => ids.includes(o.id));
  expect(inOms.map((o) => o.id).sort()).toEqual([...ids].sort());
});

test("a back office that takes requests and never answers holds nothing up: the request is abandoned at its deadline, sales go on and sync once it answers", async ({ page, request }) => {
  await setUp(page);
  await request.post("/_faults/hang", { data: null });
  const abandoned = page.waitForEvent("requestfailed", {
    predicate: (r) => r.url().includes("/api/v1/orders"),
    timeout: 90_000,
  });
  await cashSale(page, "Espresso");
  // The sync's request gets no answer; the app's deadline ends it.
  await abandoned;
  // No answer reads as "Offline" (the orders wait in the outbox), not as
  // a sync that never ends; the next sale goes through as ever.
  await expect(page.getByRole("status", { name: "Status" })).toContainText("Offline");
  await cashSale(page, "Mocha");
  await request.post("/_faults/up", { data: null });
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 90_000 });
  const ids = (await stored(page, "orders")).map((o) => o.id);
  const inOms = (await omsDay(request)).filter((o) => ids.includes(o.id));
  expect(inOms.map((o) => o.id).sort()).toEqual([...ids].sort());
});

test("a response lost during a drain leaves no duplicate and nothing missing", async ({ page, request }) => {
  await setUp(page);
  await request.post("/_faults/drop-after-commit", { data: { count: 1 } });
  await cashSale(page, "Cappuccino");
  await cashSale(page, "Mocha");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 60_000 });
  const ids = (await stored(page, "orders")).map((o) => o.id);
  const inOms = (await omsDay(request)).filter((o) => ids.includes(o.id));
  expect(inOms.map((o) => o.id).sort()).toEqual([...ids].sort());
  expect(new Set(inOms.map((o) => o.id)).size).toBe(inOms.length);
});

test("the seed article end to end: unpaid, reported to the OMS, Options → Download → paid", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  const attempt = await closeUnpaid(page, request, "Iced latte");
  await page.getByRole("link", { name: "Register Sales" }).click();
  await expect(page.getByRole("heading", { name: "Register Sales" })).toBeVisible();
  const order = (await stored(page, "orders")).find((o) => o.id === attempt.order_id);
  // Rows are found by the order's own link: other tests sold on this register today too.
  const row = () => page.getByRole("row").filter({ has: page.locator(`a[href="/sales/${order.id}"]`) });
  await expect(row()).toContainText("unpaid");
  await page.getByRole("tab", { name: "Unpaid" }).click();
  await expect(row()).toBeVisible();

  // The terminal's own report reaches the OMS (the bridge still does not know).
  expect((await simPost(request, `/_sim/payments/${attempt.reference}/report`)).status()).toBe(202);
  await expect.poll(async () => (await omsPayments(request, attempt.order_id)).length, { timeout: 15_000 }).toBe(1);

  await row().getByRole("link", { name: order.number }).click();
  await expect(page.getByLabel("Order status")).toHaveText("unpaid — payment pending confirmation");
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Download" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("paid", { timeout: 15_000 });
  await page.getByRole("link", { name: "Register Sales" }).click();
  await expect(row()).toContainText("paid");
  await expect(row()).not.toContainText("unpaid");
});

test("after a reload, a pending order whose payment the bridge now knows turns paid by itself", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  const attempt = await closeUnpaid(page, request, "Flat white");
  await simPost(request, `/_sim/payments/${attempt.reference}/reveal`);
  await page.reload();
  await expect
    .poll(async () => (await stored(page, "orders")).find((o) => o.id === attempt.order_id).status.state, { timeout: 15_000 })
    .toBe("paid");
  await page.getByRole("link", { name: "Register Sales" }).click();
  const row = page.getByRole("row").filter({ has: page.locator(`a[href="/sales/${attempt.order_id}"]`) });
  await expect(row).toContainText("paid");
  await expect(row).not.toContainText("unpaid");
});

test("Void is refused with its reason while the payment is in doubt", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  const attempt = await closeUnpaid(page, request, "Macchiato");
  const order = (await stored(page, "orders")).find((o) => o.id === attempt.order_id);
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await expect(page.getByRole("menuitem", { name: "Void" })).toBeDisabled();
  await expect(page.getByRole("menu")).toContainText("Payment pending confirmation — do not void");
});

test("a paid cash order can be voided after confirmation", async ({ page }) => {
  await setUp(page);
  await cashSale(page, "Americano");
  const [order] = await stored(page, "orders");
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Void" }).click();
  await page.getByRole("button", { name: "Yes, void" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("voided");
});

test("the Z report's totals equal the sales made", async ({ page, request }) => {
  await setUp(page);
  await cashSale(page, "Espresso"); // €2.40
  await cashSale(page, "Croissant"); // €1.95
  await ringUp(page, "Mocha"); // €4.40 by card
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible({ timeout: 15_000 });
  await page.getByRole("link", { name: "Day end" }).click();
  await page.getByRole("button", { name: "Close day" }).click();
  const z = page.getByRole("article", { name: "Z report" });
  await expect(z.getByLabel("Sales count")).toHaveText("3");
  await expect(z.getByLabel("Sales total")).toHaveText("€8.75");
  await expect(z.getByLabel("Cash total")).toHaveText("€4.35");
  await expect(z.getByLabel("Card total")).toHaveText("€4.40");
  await expect(z.getByLabel("Unpaid orders")).toHaveText("none");
  await expect(z.getByLabel("Payments in doubt")).toHaveText("0");
});

test("the data safety panel shows what is unsynced and exports it", async ({ page, request }) => {
  await setUp(page);
  await request.post("/_faults/down", { data: null });
  await cashSale(page, "Espresso");
  await page.getByRole("link", { name: /Data safety: 1 unsynced/ }).click();
  await expect(page.getByRole("heading", { name: "Data safety" })).toBeVisible();
  await expect(page.getByLabel("Unsynced orders")).toHaveText("1");
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export unsynced orders" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^till-unsynced-\d{4}-\d{2}-\d{2}\.json$/);
});
