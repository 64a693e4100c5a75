// Refunds, as a cashier makes them: Register Sales → the order → Options →
// Refund, the items coming back, the money back in cash or to the card
// through the terminal (the "Card refund" popup, with the payment's rules
// for a lost result), or split between them; the REFUND receipt, the order
// partly or wholly refunded, the refund in the back office exactly once
// (also when it was made offline), and the refunds the order does not
// allow refused with the reason.
import { test, expect } from "@playwright/test";
import { setUp, cart, charges, stored, ringUp, goPay, closeUnpaid, simNext, simPost, splitSale, env, HIDDEN } from "./helpers.mjs";

test.afterEach(async ({ request }) => {
  await request.post("/_faults/reset", { data: null });
  await charges(request);
});

/// A cash sale of `names` (one tile tap each), paid with the exact amount.
async function cashSale(page, ...names) {
  for (const name of names) await ringUp(page, name);
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  const due = await page.getByLabel("Amount due").textContent();
  await page.getByRole("button", { name: due, exact: true }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
}

/// The back office's copy of an order, with its refunds.
async function omsOrder(request, id) {
  const r = await request.get(`/api/v1/orders/${id}`, { headers: { Authorization: `Bearer ${env.registerToken}` } });
  expect(r.ok()).toBe(true);
  return r.json();
}

async function openRefund(page, orderId) {
  await page.goto(`/sales/${orderId}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Refund" }).click();
  await expect(page.getByRole("heading", { name: /^Refund order / })).toBeVisible();
}

function synced(page) {
  return expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 60_000 });
}

test("a partial refund to cash: the money back, the REFUND receipt, the order partly refunded, in the back office once", async ({ page, request }) => {
  await setUp(page);
  await cashSale(page, "Espresso", "Espresso", "Croissant"); // 2 × €2.40 + €1.95
  const [order] = await stored(page, "orders");
  // The customer's receipt carries its number as a barcode.
  await page.goto(`/receipt/${order.id}`);
  await expect(page.getByRole("img", { name: `Barcode of order ${order.number}` })).toBeVisible();
  await page.getByRole("link", { name: "Back to Register" }).click();
  // Its number, scanned (typed, then Enter), opens the order.
  await page.getByRole("link", { name: "Register Sales" }).click();
  const find = page.getByLabel("Find order by number");
  await find.fill("not-a-number");
  await find.press("Enter");
  await expect(page.getByRole("alert")).toContainText('"not-a-number" is not an order number');
  await find.fill("R1-20200101-0001");
  await find.press("Enter");
  await expect(page.getByRole("alert")).toContainText("No order R1-20200101-0001 on this register.");
  await find.fill(order.number);
  await find.press("Enter");
  await expect(page.getByRole("heading", { name: `Order ${order.number}` })).toBeVisible();
  await openRefund(page, order.id);
  const summary = page.getByLabel("Refund summary");
  await expect(page.getByText("Choose what comes back.")).toBeVisible();
  await page.getByLabel("Quantity to return: Espresso").fill("1");
  await page.getByLabel("Reason (optional)").selectOption({ label: "Damaged" });
  await expect(summary).toContainText("Refund total: €2.40");
  await expect(summary.getByRole("list", { name: "Money back" })).toHaveText("Cash: give back €2.40");
  // More than was sold cannot be asked for: the field stops at what is left.
  await page.getByLabel("Quantity to return: Croissant").fill("5");
  await expect(page.getByLabel("Quantity to return: Croissant")).toHaveValue("1");
  await page.getByLabel("Quantity to return: Croissant").fill("0");
  await page.getByRole("button", { name: "Refund €2.40" }).click();
  const done = page.getByRole("status").filter({ hasText: "Give back" });
  await expect(done).toContainText("Give back €2.40 in cash.");
  await expect(done).toContainText(/Refund R1-\d{8}-\d{4} is recorded \(refunded\)/);
  await page.getByRole("link", { name: "Print refund receipt" }).click();
  const receipt = page.getByRole("article", { name: "Refund receipt" });
  await expect(receipt).toContainText("REFUND");
  await expect(receipt).toContainText(`For order ${order.number}`);
  await expect(receipt).toContainText("1 × Espresso");
  await expect(receipt).toContainText("Reason: Damaged");
  await expect(receipt).toContainText("Refund total-€2.40");
  await page.goto(`/sales/${order.id}`);
  await expect(page.getByLabel("Order status")).toHaveText("paid · partly refunded");
  await expect(page.getByRole("list", { name: "Refunds" })).toContainText("€2.40 cash — refunded");
  await synced(page);
  const oms = await omsOrder(request, order.id);
  expect(oms.refunds).toHaveLength(1);
  expect(oms.refunds[0].totals.total.amount).toBe(240);
  // The rest, with "Whole order": now wholly refunded, and Refund is no longer offered.
  await openRefund(page, order.id);
  await page.getByRole("button", { name: "Whole order" }).click();
  await expect(page.getByLabel("Quantity to return: Espresso")).toHaveValue("1");
  await page.getByRole("button", { name: "Refund €4.35" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Give back" })).toContainText("Give back €4.35 in cash.");
  await page.goto(`/sales/${order.id}`);
  await expect(page.getByLabel("Order status")).toHaveText("paid · refunded");
  await page.getByRole("button", { name: "Options" }).click();
  await expect(page.getByRole("menuitem", { name: "Refund" })).toBeDisabled();
  await expect(page.getByRole("menuitem", { name: "Void" })).toBeDisabled();
  await expect(page.getByRole("menu")).toContainText("This order has refunds: it cannot be voided.");
  await synced(page);
  expect((await omsOrder(request, order.id)).refunds).toHaveLength(2);
  // The day's Z report: sales less refunds, and the drawer less the cash handed back.
  await page.getByRole("link", { name: "Day end" }).click();
  await page.getByRole("button", { name: "Close day" }).click();
  const z = page.getByRole("article", { name: "Z report" });
  await expect(z.getByLabel("Refunds", { exact: true })).toHaveText("2 (€6.75)");
  await expect(z.getByLabel("Refunds in cash")).toHaveText("€6.75");
  await expect(z.getByLabel("Net total")).toHaveText("€0.00");
  await expect(z.getByLabel("Cash in drawer")).toHaveText("€0.00");
});

test("a cash refund made while the back office is down reaches it exactly once when it is back", async ({ page, request }) => {
  await setUp(page);
  await cashSale(page, "Mocha");
  const [order] = await stored(page, "orders");
  await synced(page);
  // Down until the test lifts it, however long the refund takes here.
  await request.post("/_faults/down", { data: null });
  await openRefund(page, order.id);
  await page.getByRole("button", { name: "Whole order" }).click();
  await page.getByRole("button", { name: "Refund €4.40" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Give back" })).toContainText("Give back €4.40 in cash.");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("1 unsynced");
  // The data safety page counts it and exports it with the unsynced orders.
  await page.getByRole("link", { name: /Data safety: 1 unsynced/ }).click();
  await expect(page.getByLabel("Unsynced orders and refunds")).toHaveText("1");
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export unsynced orders and refunds" }).click();
  const text = await (await import("node:fs/promises")).readFile(await (await download).path(), "utf8");
  // Indented for a person to read.
  expect(text).toContain('\n  "refunds": [');
  const exported = JSON.parse(text);
  const [refund] = await stored(page, "refunds");
  expect(exported.orders).toHaveLength(0);
  expect(exported.refunds.map((r) => r.id)).toEqual([refund.id]);
  await request.post("/_faults/up", { data: null });
  await synced(page);
  const oms = await omsOrder(request, order.id);
  expect(oms.refunds.map((r) => r.id)).toEqual([refund.id]);
});

test("refunds the order does not allow are refused with the reason", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  // A card payment in doubt: no refund until reconciliation settles it.
  const attempt = await closeUnpaid(page, request, "Macchiato");
  await page.goto(`/sales/${attempt.order_id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await expect(page.getByRole("menuitem", { name: "Refund" })).toBeDisabled();
  await expect(page.getByRole("menu")).toContainText("in doubt");
  // A voided order has nothing to refund.
  await page.getByRole("link", { name: "Register", exact: true }).click();
  await cashSale(page, "Americano");
  const cash = (await stored(page, "orders")).find((o) => o.status.state === "paid" && o.tenders[0].method === "cash");
  await page.goto(`/sales/${cash.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Void" }).click();
  await page.getByRole("button", { name: "Yes, void" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("voided");
  await page.goto(`/sales/${cash.id}/refund`);
  await expect(page.getByRole("alert")).toContainText("This order cannot be refunded: a voided order has nothing to refund");
  expect(await stored(page, "refunds")).toHaveLength(0);
});

/// A card sale of `name`, approved by the simulated terminal.
async function cardSale(page, name) {
  await ringUp(page, name);
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible({ timeout: 15_000 });
  return (await stored(page, "orders")).find((o) => o.status.state === "paid" && o.tenders.some((t) => t.method === "card"));
}

function refundDialog(page) {
  return page.getByRole("dialog", { name: "Card refund" });
}

/// The terminal's refunds of `payment` (its reference).
async function terminalRefunds(request, payment) {
  return (await charges(request)).filter((c) => c.refund_of === payment);
}

test("a full refund to the card goes through the terminal once and reaches the back office", async ({ page, request }) => {
  await setUp(page);
  const order = await cardSale(page, "Mocha");
  const payment = order.tenders[0].reference;
  await openRefund(page, order.id);
  await page.getByRole("button", { name: "Whole order" }).click();
  const summary = page.getByLabel("Refund summary");
  await expect(summary.getByRole("list", { name: "Money back" })).toHaveText(/^To .+ •••• \d{4}: €4\.40$/);
  await page.getByRole("button", { name: "Refund €4.40" }).click();
  // The card popup, as for a payment: then the answer in place of the form.
  await expect(refundDialog(page)).toBeVisible();
  await expect(refundDialog(page)).toContainText("giving the money back to the card the customer paid with");
  await expect(refundDialog(page).getByRole("button", { name: /^Cancel/ })).toHaveCount(0);
  const done = page.getByRole("status").filter({ hasText: "back to the card" });
  await expect(done).toContainText("€4.40 back to the card: approved", { timeout: 15_000 });
  await expect(done).toContainText(/Refund R1-\d{8}-\d{4} is recorded \(refunded\)/);
  await expect(refundDialog(page)).toHaveCount(0);
  const refunds = await terminalRefunds(request, payment);
  expect(refunds.map((c) => c.amount)).toEqual([440]);
  await page.getByRole("link", { name: "Print refund receipt" }).click();
  await expect(page.getByRole("article", { name: "Refund receipt" })).toContainText("Back to card (approved)€4.40");
  await page.goto(`/sales/${order.id}`);
  await expect(page.getByLabel("Order status")).toHaveText("paid · refunded");
  await synced(page);
  const oms = await omsOrder(request, order.id);
  expect(oms.refunds).toHaveLength(1);
  expect(oms.refunds[0].tenders[0]).toMatchObject({ method: "card", state: "approved", original: payment });
  // The terminal reports the refund to the back office too, as a refund of the payment.
  await expect.poll(async () => (await omsOrder(request, order.id)).payments.filter((p) => p.status === "refunded").length, { timeout: 30_000 }).toBe(1);
});

test("a split refund: the cashier's share to cash within what cash paid, the rest to the card", async ({ page, request }) => {
  await setUp(page);
  const order = await splitSale(page); // €10.00: €4.00 in cash, €6.00 by card
  await openRefund(page, order.id);
  await page.getByRole("button", { name: "Whole order" }).click();
  const cash = page.getByLabel("Amount back to cash");
  await expect(cash).toHaveValue("4.00");
  // More to cash than the cash paid is refused before anything is sent.
  await cash.fill("5");
  await expect(page.getByRole("alert")).toContainText("at most €4.00 can go back to cash");
  await expect(page.getByRole("button", { name: /^Refund €/ })).toHaveCount(0);
  await cash.fill("3");
  await expect(page.getByRole("alert")).toContainText("the money going back (€9.00) must equal the refund (€10.00)");
  await cash.fill("4");
  await expect(page.getByRole("list", { name: "Money back" })).toContainText("Cash: give back €4.00");
  await page.getByRole("button", { name: "Refund €10.00" }).click();
  const done = page.getByRole("status").filter({ hasText: "Give back" });
  await expect(done).toContainText("Give back €4.00 in cash.", { timeout: 15_000 });
  await expect(done).toContainText("€6.00 back to the card: approved");
  const card = order.tenders.find((t) => t.method === "card");
  expect((await terminalRefunds(request, card.reference)).map((c) => c.amount)).toEqual([600]);
  await synced(page);
  expect((await omsOrder(request, order.id)).refunds).toHaveLength(1);
});

test("a card refund whose result is lost is found by Re-sync and never sent twice", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  const order = await cardSale(page, "Flat white");
  const payment = order.tenders[0].reference;
  // The terminal refunds, and its answer does not reach the bridge.
  await simNext(request, HIDDEN);
  await openRefund(page, order.id);
  await page.getByRole("button", { name: "Whole order" }).click();
  await page.getByRole("button", { name: /^Refund €/ }).click();
  const d = refundDialog(page);
  await expect(d.getByText("Refund result not received")).toBeVisible({ timeout: 15_000 });
  await expect(d).toContainText("Do not refund again.");
  const [attempt] = (await stored(page, "payments")).filter((a) => a.refund);
  expect(attempt.refund.original).toBe(payment);
  // Written before it left: counted as given back while in doubt.
  const [pending] = await stored(page, "refunds");
  expect(pending.tenders[0]).toMatchObject({ state: "pending", reference: attempt.reference });
  await simPost(request, `/_sim/payments/${attempt.reference}/reveal`);
  await d.getByRole("button", { name: "Re-sync (2 left)" }).click();
  const done = page.getByRole("status").filter({ hasText: "back to the card" });
  await expect(done).toContainText("back to the card: approved", { timeout: 15_000 });
  expect(await terminalRefunds(request, payment)).toHaveLength(1);
  const [refund] = await stored(page, "refunds");
  expect(refund.tenders[0].state).toBe("approved");
});

test("a return without a receipt: only when Settings allow it, cash back at today's prices", async ({ page }) => {
  await setUp(page);
  await page.getByRole("link", { name: "Register Sales" }).click();
  await page.getByRole("link", { name: "Return without receipt" }).click();
  await expect(page.getByRole("alert")).toContainText("Returns without a receipt are not allowed on this register");
  // The store allows it in Settings.
  await page.goto("/settings");
  await page.getByLabel("Allow returns without a receipt (cash back only)").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await page.goto("/sales");
  await page.getByRole("link", { name: "Return without receipt" }).click();
  await page.getByLabel("Find the item (name or barcode)").fill("Mocha");
  await page.getByRole("button", { name: "Add Mocha" }).click();
  await page.getByLabel("Quantity to return: Mocha").fill("2");
  await page.getByLabel("Quantity to return: Mocha").press("Tab");
  await page.getByLabel("Reason (optional)").selectOption({ label: "Wrong item" });
  await expect(page.getByRole("list", { name: "Money back" })).toHaveText("Cash: give back €8.80");
  await page.getByRole("button", { name: "Refund €8.80" }).click();
  const done = page.getByRole("status").filter({ hasText: "Give back" });
  await expect(done).toContainText("Give back €8.80 in cash.");
  const [ret] = await stored(page, "refunds");
  expect(ret.order_id).toBeUndefined();
  expect(ret.items.map((i) => [i.name, i.quantity])).toEqual([["Mocha", 2]]);
  await page.getByRole("link", { name: "Print refund receipt" }).click();
  const receipt = page.getByRole("article", { name: "Refund receipt" });
  await expect(receipt).toContainText("Return without receipt");
  await expect(receipt).toContainText("2 × Mocha");
  await expect(receipt).toContainText("Reason: Wrong item");
  await synced(page);
});
