// Offline and installable: the register opens and sells with no network.
import { test, expect } from "@playwright/test";
import { setUp, cart } from "./helpers.mjs";

/// Waits until the service worker controls the page and has activated.
async function serviceWorkerReady(page) {
  await expect
    .poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.state ?? "none"), { timeout: 15_000 })
    .toBe("activated");
  await page.reload();
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
}

test("the app is installable", async ({ page, request }) => {
  const manifest = await (await request.get("/manifest.webmanifest")).json();
  expect(manifest.display).toBe("standalone");
  expect(manifest.start_url).toBe("/");
  const sizes = manifest.icons.map((i) => `${i.sizes} ${i.purpose}`);
  expect(sizes).toEqual(expect.arrayContaining(["192x192 any", "512x512 any", "512x512 maskable"]));
  for (const icon of manifest.icons) expect((await request.get(icon.src)).ok()).toBe(true);

  await setUp(page);
  await serviceWorkerReady(page);
  const cdp = await page.context().newCDPSession(page);
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  // Playwright's browser contexts are incognito, which alone blocks install;
  // every other criterion (manifest, icons, service worker, secure origin) must pass.
  expect(installabilityErrors.filter((e) => e.errorId !== "in-incognito")).toEqual([]);
});

test("with the OMS down and no network, the register still opens and rings up items", async ({ page, context, request }) => {
  await setUp(page);
  await serviceWorkerReady(page);
  await expect(page.getByRole("button", { name: "Espresso", exact: true })).toBeVisible();

  await request.post("/_faults/down", { data: null });
  try {
    await context.setOffline(true);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
    await expect(page.getByRole("status", { name: "Status" })).toContainText("Offline");
    await page.getByRole("button", { name: "Espresso", exact: true }).click();
    await expect(cart(page).getByLabel("Quantity of Espresso")).toHaveText("1");
    await expect(cart(page).getByLabel("Total", { exact: true })).toHaveText("€2.40");
  } finally {
    await context.setOffline(false);
    await request.post("/_faults/reset", { data: null });
  }
});

test("a second tab is refused and takes over when the first closes", async ({ page, context }) => {
  await setUp(page);
  const second = await context.newPage();
  await second.goto("/");
  await expect(second.getByRole("heading", { name: "Till is open in another tab" })).toBeVisible();
  await expect(second.getByRole("button", { name: "Espresso", exact: true })).toHaveCount(0);
  await page.close();
  await expect(second.getByRole("heading", { name: "Register", level: 1 })).toBeVisible({ timeout: 15_000 });
});

test("a large catalog downloads with visible progress, then sells", async ({ page }) => {
  const big = process.env.TILL_BIG_CATALOG_URL;
  const total = Number(process.env.TILL_BIG_CATALOG_PRODUCTS).toLocaleString("en-US");
  await page.goto(big + "/");
  await page.getByLabel("Register id").fill(process.env.TILL_REGISTER_ID);
  await page.getByLabel("Register token").fill(process.env.TILL_REGISTER_TOKEN);
  await page.getByLabel("Bridge URL").fill(process.env.TILL_BRIDGE_URL);
  await page.getByLabel("Pairing token").fill(process.env.TILL_PAIRING_TOKEN);
  await page.getByRole("button", { name: "Start selling" }).click();
  await expect(page.getByText(new RegExp(`Downloading catalog [\\d,]+ / ${total}`))).toBeVisible();
  await expect(page.getByText(/Showing 200 of/)).toBeVisible({ timeout: 60_000 });
  await page.getByLabel("Search products").fill("creme cheese 1");
  await page.getByRole("button", { name: /^Crème Cheese 1/ }).first().click();
  await expect(cart(page).getByLabel(/^Quantity of Crème Cheese 1/)).toHaveText("1");
});
