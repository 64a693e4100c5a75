// Money safety as a cashier meets it: a card payment that cannot be left
// behind, a double tap, a wrong tablet clock, an unreachable bridge, a day
// that ended with a payment in doubt, a damaged record. Each test is one of
// the holes the money-safety review found (the number in its name).
import { test, expect } from "@playwright/test";
import { setUp, cart, simNext, simPost, bridgeFault, resetFaults, charges, stored, ringUp, goPay, dialog, closeUnpaid, env } from "./helpers.mjs";

test.afterEach(async ({ request }) => {
  await resetFaults(request);
  await request.post("/_faults/reset", { data: null });
  await charges(request);
});

test("hole 6: leaving the payment page keeps the card popup, and the cart cannot change under it", async ({ page, request }) => {
  await setUp(page);
  await simNext(request, { outcome: "approve", delay_ms: 60000 });
  await ringUp(page, "Cappuccino");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page).getByText("Processing…")).toBeVisible();
  // Browser Back, to the register: the popup is still there.
  await page.goBack();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(dialog(page).getByText("Processing…")).toBeVisible();
  // A scanner adds nothing while the terminal charges this total.
  await page.keyboard.type("2000000000015");
  await page.keyboard.press("Enter");
  await expect(page.getByText("A card payment is in progress for this sale")).toBeVisible();
  await expect(cart(page).getByLabel("Quantity of Cappuccino")).toHaveText("1");
  await expect(cart(page).getByLabel("Total", { exact: true })).toHaveText("€3.80");
  await dialog(page).getByRole("button", { name: /^Cancel/ }).click();
  await expect(dialog(page)).toHaveCount(0, { timeout: 15_000 });
});

test("hole 7: a double tap on Confirm makes one paid order", async ({ page }) => {
  await setUp(page);
  await ringUp(page, "Espresso");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€2.40" }).click();
  // Two taps in the same instant, before the page can re-render.
  await page.getByRole("button", { name: "Confirm" }).evaluate((b) => {
    b.click();
    b.click();
  });
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible();
  const orders = await stored(page, "orders");
  expect(orders).toHaveLength(1);
  expect(orders[0].status.state).toBe("paid");
});

test("hole 13: a bridge that cannot be reached means nothing was charged: say so, and try again", async ({ page, request }) => {
  await setUp(page);
  await ringUp(page, "Americano");
  await goPay(page);
  expect((await bridgeFault(request, "down")).status()).toBe(204);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The payment bridge is not reachable — nothing was charged" })).toBeVisible({ timeout: 15_000 });
  await expect(dialog(page)).toHaveCount(0);
  expect(await stored(page, "payments"), "nothing was written, nothing is in doubt").toEqual([]);
  await bridgeFault(request, "up");
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible({ timeout: 15_000 });
});

test("hole 12: a tablet clock before 2000 stops the sale with a clear message and loses nothing", async ({ page }) => {
  await page.clock.install({ time: new Date() });
  await setUp(page);
  await ringUp(page, "Espresso");
  await goPay(page);
  await page.clock.setSystemTime(new Date("1998-12-31T12:00:00"));
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€2.40" }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The tablet's clock says 1998-12-31: set the right date and time" })).toBeVisible();
  expect(await stored(page, "orders")).toEqual([]);
  // The clock is set right: the same sale goes through.
  await page.clock.setSystemTime(new Date());
  await page.getByRole("button", { name: "€2.40" }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible();
  expect(await stored(page, "orders")).toHaveLength(1);
});

test("hole 10: an order closed unpaid yesterday is still in Register Sales, with Download", async ({ page, request }) => {
  await page.clock.install({ time: new Date() });
  await setUp(page, { resultWait: 3 });
  await closeUnpaid(page, request, "Flat white");
  const [order] = await stored(page, "orders");
  // The next morning.
  await page.clock.setSystemTime(new Date(Date.now() + 26 * 3600 * 1000));
  await page.reload();
  await page.getByRole("link", { name: "Register Sales" }).click();
  const row = page.getByRole("row").filter({ has: page.locator(`a[href="/sales/${order.id}"]`) });
  await expect(row).toContainText("unpaid — payment pending confirmation");
  await expect(page.getByRole("list", { name: "Payments in doubt" })).toContainText("pending confirmation");
  await row.getByRole("link", { name: order.number }).click();
  await page.getByRole("button", { name: "Options" }).click();
  await expect(page.getByRole("menuitem", { name: "Download" })).toBeEnabled();
  await expect(page.getByRole("menuitem", { name: "Void" })).toBeDisabled();
  // The terminal finds it; Download settles it.
  const [attempt] = await stored(page, "payments");
  await simPost(request, `/_sim/payments/${attempt.reference}/reveal`);
  await page.getByRole("menuitem", { name: "Download" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("paid", { timeout: 15_000 });
});

test("hole 11: a record that cannot be read is an error on screen, never empty data", async ({ page }) => {
  await setUp(page);
  await ringUp(page, "Espresso");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€2.40" }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible();
  // A damaged record, as a broken upgrade or a full disk might leave.
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("till");
        open.onsuccess = () => {
          const tx = open.result.transaction("orders", "readwrite");
          tx.objectStore("orders").put({ id: "damaged", number: 42 });
          tx.oncomplete = resolve;
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  await page.getByRole("link", { name: "Register Sales" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Register Sales could not be read" })).toBeVisible();
  await expect(page.getByText("No orders to show")).toHaveCount(0);
  await page.getByRole("link", { name: "Day end" }).click();
  await page.getByRole("button", { name: "Close day" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The Z report could not be made" })).toBeVisible();
  await expect(page.getByRole("article", { name: "Z report" })).toHaveCount(0);
  await page.getByRole("link", { name: /Data safety/ }).click();
  await page.getByRole("button", { name: "Export unsynced orders" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The export failed" })).toBeVisible();
});
