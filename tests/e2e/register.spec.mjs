// The register, as a cashier finds it.
import { test, expect } from "@playwright/test";
import { setUp, cart, ringUp } from "./helpers.mjs";

test("first run asks for the setup, then opens the register", async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await setUp(page);
  await expect(page).toHaveTitle("Till");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("Online");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: connected");
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced");
  expect(errors).toEqual([]);
});

test("a setup link opened on a register already set up leaves the address bar and changes nothing", async ({ page }) => {
  await setUp(page);
  const secret = "oms=http%3A%2F%2Fevil.example&enrol=a-stolen-secret-for-r9&bridge=http%3A%2F%2Fevil.example&code=123456";
  // Opened anew (the page loads), and on the page already open (only the
  // fragment changes): either way it leaves the address bar.
  await page.goto("/settings");
  await page.goto(`/#setup=${encodeURIComponent(secret)}`);
  await expect(page.getByRole("status", { name: "Status" })).toContainText("Bridge: connected");
  expect(new URL(page.url()).hash, "the secret left the address bar").toBe("");
  await page.goto(`/#setup=${encodeURIComponent(secret)}`);
  await expect.poll(() => page.evaluate(() => location.href)).not.toContain("stolen");
  await page.goto("/settings");
  await expect(page.getByLabel("Register id")).toHaveValue("R1");
  await expect(page.getByLabel("OMS URL")).toHaveValue(new URL(page.url()).origin);
});

test("products are added by tile, by search and by barcode, and the totals add up", async ({ page }) => {
  await setUp(page);
  const c = cart(page);
  await expect(c.getByRole("button", { name: /^Pay/ })).toBeDisabled();

  await page.getByRole("button", { name: "Espresso", exact: true }).click();
  await page.getByLabel("Search products").fill("crois");
  await page.getByRole("button", { name: "Croissant", exact: true }).click();
  await page.getByLabel("Search products").fill("");

  // A scanner types the digits and Enter, wherever the focus is.
  await page.getByRole("heading", { name: "Register" }).click();
  await page.keyboard.type("2000000000015");
  await page.keyboard.press("Enter");
  await expect(page.getByText("Added Espresso")).toBeVisible();
  await expect(c.getByLabel("Quantity of Espresso")).toHaveText("2");

  // Espresso 2 × €2.40 (VAT 20 % incl.) + Croissant €1.95 (VAT 5.5 % incl.):
  // total €6.75; tax €0.80 + €0.10.
  await expect(c.getByLabel("Subtotal")).toHaveText("€6.75");
  await expect(c.getByLabel("Discounts")).toHaveText("€0.00");
  await expect(c.getByLabel("Tax")).toHaveText("€0.90");
  await expect(c.getByLabel("Total", { exact: true })).toHaveText("€6.75");
  await expect(c.getByRole("button", { name: "Pay €6.75" })).toBeEnabled();

  await page.keyboard.type("9999999");
  await page.keyboard.press("Enter");
  await expect(page.getByText("no product with barcode 9999999")).toBeVisible();
});

test("cart edits: quantity, discounts, remove, clear with confirmation", async ({ page }) => {
  await setUp(page);
  const c = cart(page);
  await page.getByRole("button", { name: "Cappuccino", exact: true }).click();
  await c.getByRole("button", { name: "Increase Cappuccino" }).click();
  await c.getByRole("button", { name: "Increase Cappuccino" }).click();
  await c.getByRole("button", { name: "Decrease Cappuccino" }).click();
  await expect(c.getByLabel("Quantity of Cappuccino")).toHaveText("2");
  await expect(c.getByLabel("Total", { exact: true })).toHaveText("€7.60");

  await c.getByLabel("Discount for Cappuccino (%)").fill("10");
  await c.getByLabel("Discount for Cappuccino (%)").press("Tab");
  await expect(c.getByLabel("Total", { exact: true })).toHaveText("€6.84");
  await c.getByLabel("Order discount %").fill("150");
  await c.getByLabel("Order discount %").press("Tab");
  await expect(c.getByRole("alert")).toContainText("more than 100 %");
  await expect(c.getByLabel("Total", { exact: true })).toHaveText("€6.84");

  await page.getByRole("button", { name: "Espresso", exact: true }).click();
  await c.getByRole("button", { name: "Remove Espresso" }).click();
  await expect(c.getByText("Espresso")).toHaveCount(0);

  await c.getByRole("button", { name: "Clear cart" }).click();
  await c.getByRole("button", { name: "Keep" }).click();
  await expect(c.getByLabel("Quantity of Cappuccino")).toHaveText("2");
  await c.getByRole("button", { name: "Clear cart" }).click();
  await c.getByRole("button", { name: "Yes, clear" }).click();
  await expect(c.getByText("The cart is empty")).toBeVisible();
});

test("the open cart survives a reload", async ({ page }) => {
  await setUp(page);
  await page.getByRole("button", { name: "Flat white", exact: true }).click();
  await page.getByRole("button", { name: "Flat white", exact: true }).click();
  await expect(cart(page).getByLabel("Quantity of Flat white")).toHaveText("2");
  await page.reload();
  await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();
  await expect(cart(page).getByLabel("Quantity of Flat white")).toHaveText("2");
});

test("category tabs switch the tiles", async ({ page }) => {
  await setUp(page);
  await page.getByRole("tab", { name: "Bakery" }).click();
  await expect(page.getByRole("tab", { name: "Bakery" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("button", { name: "Baguette", exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Espresso", exact: true })).toHaveCount(0);
});

test("an unknown address says so and leads back to the register", async ({ page }) => {
  await setUp(page);
  await page.goto("/no-such-page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Back to Register" }).click();
  await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();
});

test("the live status is its own element, not the header: the pages' links are not announced as status", async ({ page }) => {
  await setUp(page);
  const status = page.getByRole("status", { name: "Status" });
  await expect(status).toBeVisible();
  // `status` is not a role a <header> may take (axe: aria-allowed-role).
  expect(await status.evaluate((e) => e.tagName)).not.toBe("HEADER");
  await expect(page.locator("header[role]")).toHaveCount(0);
  await expect(status.getByRole("link", { name: "Register Sales" })).toHaveCount(0);
  await expect(status).toContainText("Bridge");
});

test("a parked cart waits through a reload and resumes with one tap", async ({ page }) => {
  await setUp(page);
  await ringUp(page, "Espresso");
  await ringUp(page, "Croissant");
  const parkGroup = page.getByRole("group", { name: "Parked carts" });
  await parkGroup.getByRole("button", { name: "Park" }).click();
  await page.getByLabel("Label (optional)").fill("Table 4");
  await page.getByRole("button", { name: "Park cart" }).click();
  await expect(page.getByRole("status").filter({ hasText: 'Parked "Table 4"' })).toBeVisible();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
  // Parked carts belong to the register: a reload keeps them.
  await page.reload();
  await expect(parkGroup.getByRole("button", { name: "Parked (1)" })).toBeVisible();
  // Another customer first: resuming into a cart that is not empty says why not.
  await ringUp(page, "Mocha");
  await parkGroup.getByRole("button", { name: "Parked (1)" }).click();
  await page.getByRole("button", { name: "Resume Table 4" }).click();
  await expect(page.getByRole("status").filter({ hasText: "park it or clear it first" })).toBeVisible();
  await cart(page).getByRole("button", { name: "Clear cart" }).click();
  await cart(page).getByRole("button", { name: "Yes, clear" }).click();
  await parkGroup.getByRole("button", { name: "Parked (1)" }).click();
  await page.getByRole("button", { name: "Resume Table 4" }).click();
  await expect(cart(page).getByRole("button", { name: "Pay €4.35" })).toBeVisible();
  await expect(parkGroup.getByRole("button", { name: /^Parked/ })).toHaveCount(0);
});
