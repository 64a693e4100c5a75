// Cashiers sign in by name and PIN; a wrong PIN counts, five lock that
// person out (a reload does not lift it); "Switch cashier" is one tap; the
// receipt and the order say who did what, at the register and in the back
// office.
import { test, expect } from "@playwright/test";
import { env, fillSetup, cart, ringUp, goPay, stored, signIn, typePin, openShift, exactCashSale, CASHIER_PIN, MANAGER_PIN } from "./helpers.mjs";

test("a wrong PIN counts, five lock that person out, and a reload does not lift it", async ({ page }) => {
  await fillSetup(page);
  // Nothing to sell from before signing in: no register, no pages.
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Register Sales" })).toHaveCount(0);
  await page.getByRole("button", { name: "Jo", exact: true }).click();
  const pin = page.getByLabel("PIN for Jo");
  await expect(pin).toHaveAttribute("type", "password");
  await typePin(page, "12");
  await expect(page.getByText("2 digits entered")).toBeVisible();
  await expect(pin).toHaveValue("12");
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByText("1 digit entered")).toBeVisible();
  await page.getByRole("button", { name: "Clear" }).click();
  for (let left = 4; left >= 1; left--) {
    await typePin(page, "0000");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("alert")).toContainText(`${left} tries left`);
  }
  // The keyboard works too: type the PIN, press Enter.
  await pin.fill("0000");
  await pin.press("Enter");
  await expect(page.getByRole("alert")).toContainText("locked for 5 more minute");
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeDisabled();
  await page.reload();
  await page.getByRole("button", { name: "Jo", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("locked for");
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeDisabled();
  // Someone else is not locked.
  await signIn(page, "Alex", CASHIER_PIN);
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page.getByLabel("Signed in: Alex")).toBeVisible();
});

test("the receipt says who served; after Switch cashier the manager voids, and the order says both", async ({ page, request }) => {
  await fillSetup(page);
  await signIn(page, "Alex", CASHIER_PIN);
  await openShift(page, "100.00");
  await exactCashSale(page, "Espresso", "€2.40");
  const [order] = await stored(page, "orders");
  expect(order.cashier).toEqual({ id: "alex", name: "Alex" });
  await page.goto(`/receipt/${order.id}`);
  await expect(page.getByRole("article", { name: "Receipt" })).toContainText("Served by Alex");
  // A reload keeps the cashier signed in.
  await page.reload();
  await expect(page.getByLabel("Signed in: Alex")).toBeVisible();
  await page.getByRole("button", { name: "Switch cashier" }).click();
  await signIn(page, "Dana", MANAGER_PIN);
  await page.goto(`/sales/${order.id}`);
  await expect(page.getByText("Rung up by Alex")).toBeVisible();
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Void" }).click();
  await page.getByRole("button", { name: "Yes, void" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("voided");
  await expect(page.getByText("Voided by Dana")).toBeVisible();
  // The back office has both names.
  await expect
    .poll(async () => {
      const r = await request.get(`/api/v1/orders/${order.id}`, { headers: { Authorization: `Bearer ${env.registerToken}` } });
      const o = r.ok() ? (await r.json()).order : null;
      return o && [o.cashier?.name, o.voided_by?.name];
    }, { timeout: 30_000 })
    .toEqual(["Alex", "Dana"]);
});

test("a cashier's void and Settings wait for a manager's PIN, and the order says who approved", async ({ page }) => {
  await fillSetup(page);
  await signIn(page, "Alex", CASHIER_PIN);
  await openShift(page, "100.00");
  await exactCashSale(page, "Croissant", "€1.95");
  const [order] = await stored(page, "orders");
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Void" }).click();
  await page.getByRole("button", { name: "Yes, void" }).click();
  const approval = page.getByRole("dialog", { name: "Manager approval" });
  await expect(approval).toContainText("Void the order");
  await expect(approval.getByRole("button", { name: "Jo" })).toHaveCount(0);
  await approval.getByRole("button", { name: "Dana (manager)" }).click();
  await typePin(page, "0000");
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(approval.getByRole("alert")).toContainText("4 tries left");
  await expect(page.getByLabel("Order status")).toHaveText("paid");
  await typePin(page, MANAGER_PIN);
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(approval).toHaveCount(0);
  await expect(page.getByLabel("Order status")).toHaveText("voided");
  await expect(page.getByText("Voided by Alex")).toBeVisible();
  await expect(page.getByText("Approved by Dana: Void the order")).toBeVisible();

  // Settings: cancelled, nothing saved; approved, saved.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Sign out after minutes idle (empty: never)").fill("15");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(approval).toContainText("Change Settings");
  await approval.getByRole("button", { name: "Cancel" }).click();
  await expect(approval).toHaveCount(0);
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toHaveCount(0);
  await page.getByRole("button", { name: "Save" }).click();
  await approval.getByRole("button", { name: "Dana (manager)" }).click();
  await typePin(page, MANAGER_PIN);
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(page.getByLabel("Signed in: Alex")).toBeVisible();
});

test("a cashier's price override waits for a manager; cancelled, the price is the catalog's again; the order keeps both", async ({ page }) => {
  await fillSetup(page);
  await signIn(page, "Alex", CASHIER_PIN);
  await openShift(page, "100.00");
  await ringUp(page, "Espresso");
  const price = cart(page).getByLabel("Price of Espresso");
  await expect(price).toHaveValue("2.40");
  await price.fill("2.00");
  await price.press("Tab");
  const approval = page.getByRole("dialog", { name: "Manager approval" });
  await expect(approval).toContainText("Price override");
  await approval.getByRole("button", { name: "Cancel" }).click();
  await expect(approval).toHaveCount(0);
  await expect(price, "the field shows the cart again").toHaveValue("2.40");
  await price.fill("2.00");
  await price.press("Tab");
  await approval.getByRole("button", { name: "Dana (manager)" }).click();
  await typePin(page, MANAGER_PIN);
  await approval.getByRole("button", { name: "Approve" }).click();
  await expect(approval).toHaveCount(0);
  await expect(cart(page).getByLabel("Total", { exact: true })).toHaveText("€2.00");
  await expect(cart(page).getByText("Price (list €2.40)")).toBeVisible();
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€2.00", exact: true }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
  const [order] = await stored(page, "orders");
  expect(order.lines[0].unit_price).toEqual({ amount: 200, currency: "EUR" });
  expect(order.lines[0].list_price).toEqual({ amount: 240, currency: "EUR" });
  expect(order.approvals.map((a) => [a.by.name, a.what.action])).toEqual([["Dana", "price_override"]]);
});
