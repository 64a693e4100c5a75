// The register, as a cashier finds it.
import { test, expect } from "@playwright/test";

test("the app opens on the register", async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page).toHaveTitle("Till");
  expect(errors).toEqual([]);
});

test("an unknown address says so and leads back to the register", async ({ page }) => {
  await page.goto("/no-such-page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Back to Register" }).click();
  await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();
});
