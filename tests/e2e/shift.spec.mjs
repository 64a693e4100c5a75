// The cash drawer's shift: nobody sells without one; it opens with the
// float counted note by note, pays out with a reason, opens the drawer with
// no sale (a manager approves a cashier's), shows an X report equal to the
// sales, and closes with a count: the Z report shows the shortage and the
// back office holds the shift once, offline or not.
import { test, expect } from "@playwright/test";
import { env, fillSetup, cart, stored, signIn, typePin, exactCashSale, openShift, CASHIER_PIN, MANAGER_PIN } from "./helpers.mjs";

function shiftLink(page) {
  return page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Shift", exact: true });
}

async function toRegister(page) {
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Register", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
}

/// The shift as the back office holds it (`null` until it is there).
async function omsShift(request, id) {
  const r = await request.get(`/api/v1/shifts/${id}`, { headers: { Authorization: `Bearer ${env.registerToken}` } });
  return r.ok() ? r.json() : null;
}

/// Opens the shift with two €50 notes, sells €4.35 in cash, pays €5.00 out
/// for milk: €99.35 expected.
async function aShiftOfSales(page) {
  await expect(page.getByRole("alert").filter({ hasText: "No shift is open" })).toBeVisible();
  await page.getByRole("link", { name: "Open shift" }).click();
  await page.getByLabel("Float: how many €50.00").fill("2");
  await page.getByRole("button", { name: "Open shift" }).click();
  await expect(page.getByText(/^Open since \d\d:\d\d by Alex, float €100\.00$/)).toBeVisible();
  await toRegister(page);
  await exactCashSale(page, "Espresso", "€2.40");
  await exactCashSale(page, "Croissant", "€1.95");
  await shiftLink(page).click();
  const x = page.getByRole("region", { name: "X report" });
  await expect(x.getByLabel("Shift sales")).toHaveText("2 (€4.35)");
  await expect(x.getByLabel("Shift cash")).toHaveText("€4.35");
  await page.getByLabel("Amount").fill("5");
  await page.getByLabel("Reason").fill("milk");
  await page.getByRole("button", { name: "Paid out" }).click();
  await expect(x.getByLabel("Expected cash")).toHaveText("€99.35");
}

test("nobody sells without a shift; open, sell, pay out, X equals the sales, close short: the Z shows it, the back office has it", async ({ page, request }) => {
  await fillSetup(page);
  await signIn(page, "Alex", CASHIER_PIN);
  // No shift: the register says so, and a tap sells nothing.
  await page.getByRole("button", { name: "Espresso", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Open a shift first" })).toBeVisible();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
  await aShiftOfSales(page);

  // No sale: a cashier's needs a manager.
  await page.getByRole("button", { name: "No sale (open drawer)" }).click();
  const approval = page.getByRole("dialog", { name: "Manager approval" });
  await expect(approval).toContainText("Open the drawer (no sale)");
  await approval.getByRole("button", { name: "Dana (manager)" }).click();
  await typePin(page, MANAGER_PIN);
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Drawer opened (no sale)." })).toBeVisible();

  // Counted €99.00: €0.35 short.
  await page.getByLabel("Counted total").fill("99.00");
  await page.getByRole("button", { name: "Close shift" }).click();
  const z = page.getByRole("article", { name: "Shift Z report" });
  await expect(z.getByLabel("Expected cash")).toHaveText("€99.35");
  await expect(z.getByLabel("Counted cash")).toHaveText("€99.00");
  await expect(z.getByLabel("Over or short")).toHaveText("Short €0.35");
  await expect(z.getByLabel("Shift sales")).toHaveText("2 (€4.35)");
  await expect(z).toContainText("Paid out by Alex: milk");
  await expect(z.getByLabel("No sale count")).toHaveText("1");
  await expect(page.getByRole("heading", { name: "Open a shift" })).toBeVisible();

  const [shift] = await stored(page, "shifts");
  await expect.poll(async () => (await omsShift(request, shift.id))?.close?.over_short, { timeout: 30_000 }).toEqual({ amount: -35, currency: "EUR" });
  const held = await omsShift(request, shift.id);
  expect(held.no_sales[0].approval.by.name).toBe("Dana");
  expect(held.movements[0].by.name).toBe("Alex");

  // The day closed with its last shift; nothing sells until the next opens.
  await page.getByRole("link", { name: "Day end" }).click();
  await page.getByRole("button", { name: "Close day" }).click();
  await expect(page.getByLabel("Day state")).toHaveText(/^Day closed/);
  await toRegister(page);
  await expect(page.getByRole("alert").filter({ hasText: "No shift is open" })).toBeVisible();
});

test("a cash sale of a closed shift is not voided: Register Sales says to refund it instead", async ({ page }) => {
  await fillSetup(page);
  await signIn(page, "Dana", MANAGER_PIN);
  await openShift(page, "100.00");
  await exactCashSale(page, "Espresso", "€2.40");
  const [order] = await stored(page, "orders");
  // The drawer is counted with the sale's cash in it, and the next shift opens.
  await shiftLink(page).click();
  await page.getByLabel("Counted total").fill("102.40");
  await page.getByRole("button", { name: "Close shift" }).click();
  await expect(page.getByRole("article", { name: "Shift Z report" }).getByLabel("Over or short")).toHaveText("Even");
  await page.getByLabel("Float total").fill("102.40");
  await page.getByRole("button", { name: "Open shift" }).click();
  await expect(page.getByText(/^Open since \d\d:\d\d by Dana/)).toBeVisible();
  // Voiding it would take €2.40 from a drawer that never held it.
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await expect(page.getByRole("menuitem", { name: "Void" })).toBeDisabled();
  await expect(page.getByText("This sale's cash was counted when its shift closed: give the money back as a refund.")).toBeVisible();
  await page.getByRole("menuitem", { name: "Refund" }).click();
  await expect(page.getByRole("heading", { name: /^Refund order / })).toBeVisible();
});

test("offline: a shift opened, sold and closed while the back office is down reaches it once when it is back", async ({ page, request }) => {
  await fillSetup(page);
  await signIn(page, "Alex", CASHIER_PIN);
  await request.post("/_faults/down", { data: null });
  try {
    await aShiftOfSales(page);
    await page.getByLabel("Counted: how many €50.00").fill("1");
    await page.getByLabel("Counted: how many €20.00").fill("2");
    await page.getByLabel("Counted: how many €5.00").fill("1");
    await page.getByRole("button", { name: "Close shift" }).click();
    await expect(page.getByRole("article", { name: "Shift Z report" }).getByLabel("Over or short")).toHaveText("Short €4.35");
    // The day is not final while the shift waits to be sent.
    await page.getByRole("link", { name: "Day end" }).click();
    await page.getByRole("button", { name: "Close day" }).click();
    await expect(page.getByLabel("Day state")).toHaveText(/^PROVISIONAL/);
    const shifts = (await stored(page, "outbox")).filter((e) => e.kind === "shift");
    expect(shifts, "one entry: its latest version").toHaveLength(1);
  } finally {
    await request.post("/_faults/up", { data: null });
  }
  const [shift] = await stored(page, "shifts");
  await expect.poll(async () => (await omsShift(request, shift.id))?.version, { timeout: 60_000 }).toBe(shift.version);
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 60_000 });
  expect((await omsShift(request, shift.id)).close.counted).toEqual({ amount: 9500, currency: "EUR" });
});

test("with automatic printing on, the shift's Z report prints by itself at the close", async ({ page }) => {
  await page.addInitScript(() => {
    window.__z = [];
    window.print = () => window.__z.push(document.querySelector("article.z-report")?.innerText ?? "");
  });
  await fillSetup(page);
  await signIn(page, "Dana", MANAGER_PIN);
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Print the receipt by itself when a sale is paid").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await shiftLink(page).click();
  await page.getByLabel("Float total").fill("50");
  await page.getByRole("button", { name: "Open shift" }).click();
  await expect(page.getByText(/^Open since/)).toBeVisible();
  expect(await page.evaluate(() => window.__z), "nothing prints at the open").toEqual([]);
  await page.getByLabel("Counted total").fill("50");
  await page.getByRole("button", { name: "Close shift" }).click();
  await expect.poll(() => page.evaluate(() => window.__z.length)).toBe(1);
  expect((await page.evaluate(() => window.__z))[0]).toContain("Even");
});
