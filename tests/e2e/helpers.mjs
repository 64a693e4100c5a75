// What every end-to-end test needs: a register that has been set up.
import { expect } from "@playwright/test";

export const env = {
  bridge: process.env.TILL_BRIDGE_URL,
  registerId: process.env.TILL_REGISTER_ID,
  registerToken: process.env.TILL_REGISTER_TOKEN,
  pairingToken: process.env.TILL_PAIRING_TOKEN,
};

/// First run: fill in the setup form the way a store's administrator would.
export async function setUp(page) {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Set up this register" })).toBeVisible();
  await expect(page.getByLabel("OMS URL")).toHaveValue(new URL(page.url()).origin);
  await page.getByLabel("Register id").fill(env.registerId);
  await page.getByLabel("Register token").fill(env.registerToken);
  await page.getByLabel("Bridge URL").fill(env.bridge);
  await page.getByLabel("Pairing token").fill(env.pairingToken);
  await page.getByRole("button", { name: "Start selling" }).click();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page.getByRole("button", { name: "Espresso", exact: true })).toBeVisible();
}

export function cart(page) {
  return page.getByRole("region", { name: "Cart" });
}
