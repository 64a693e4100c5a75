// Offline and installable: the register opens and sells with no network.
import { test, expect } from "@playwright/test";
import { setUp, cart, goPay, signIn, openShift, CASHIER_PIN } from "./helpers.mjs";

/// Waits until the service worker controls the page and has activated.
async function serviceWorkerReady(page) {
  await expect
    .poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.state ?? "none"), { timeout: 15_000 })
    .toBe("activated");
  await page.reload();
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
}

test("while the app downloads the page says so, then the app replaces it", async ({ page }) => {
  // The download is held until the test has seen the loading page.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route(/_bg\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto("/");
  await expect(page.getByRole("status")).toContainText("Loading the register…");
  release();
  await expect(page.getByRole("heading", { name: "Set up this register" })).toBeVisible();
  await expect(page.getByText("Loading the register")).toHaveCount(0);
});

test("a download that fails says why and what to do, never a blank page", async ({ page }) => {
  await page.route(/_bg\.wasm$/, (route) => route.abort("connectionfailed"));
  await page.goto("/");
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("Till could not start");
  await expect(alert).toContainText("then reload the page");
});

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
  await signIn(page, "Alex", CASHIER_PIN);
  await openShift(page, "100.00");
  await expect(page.getByText(/Showing 200 of/)).toBeVisible({ timeout: 60_000 });
  await page.getByLabel("Search products").fill("creme cheese 1");
  await page.getByRole("button", { name: /^Crème Cheese 1/ }).first().click();
  await expect(cart(page).getByLabel(/^Quantity of Crème Cheese 1/)).toHaveText("1");
});

/// Serves the back office's catalog as a changed one, through `change(body,
/// cursor)`; `later` answers the requests for later pages.
async function changedCatalog(page, change, later) {
  await page.route("**/api/v1/catalog?*", async (route) => {
    const cursor = new URL(route.request().url()).searchParams.get("cursor");
    if (cursor) return later(route);
    const headers = { ...route.request().headers() };
    delete headers["if-none-match"];
    const response = await route.fetch({ headers });
    const body = await response.json();
    change(body);
    await route.fulfill({ response, json: body });
  });
}

test("a catalog download cut off after its first page changes nothing: offline after a reload, the register searches and sells", async ({ page, context }) => {
  await setUp(page);
  await serviceWorkerReady(page);
  await changedCatalog(
    page,
    (body) => {
      body.catalog_version = "c-cut-off";
      body.next_cursor = "more";
      body.products_total += 1000;
    },
    (route) => route.abort("connectionreset"),
  );
  const cutOff = page.waitForRequest((r) => r.url().includes("cursor=more"));
  await page.reload();
  await cutOff;
  await page.unroute("**/api/v1/catalog?*");

  try {
    await context.setOffline(true);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
    await page.getByLabel("Search products").fill("crois");
    await page.getByRole("button", { name: "Croissant", exact: true }).click();
    await expect(cart(page).getByLabel("Quantity of Croissant")).toHaveText("1");
    await goPay(page);
    await page.getByRole("button", { name: "Cash", exact: true }).click();
    const due = (await page.getByLabel("Amount due").textContent()).trim();
    await page.getByRole("button", { name: due, exact: true }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Paid — order" })).toBeVisible();
  } finally {
    await context.setOffline(false);
  }
});

test("a catalog with a barcode on two products is refused whole; the catalog in use stays and the next sync asks again", async ({ page }) => {
  await setUp(page);
  const inUse = await page.evaluate(async () => {
    const db = await new Promise((ok, err) => {
      const r = indexedDB.open("till");
      r.onsuccess = () => ok(r.result);
      r.onerror = () => err(r.error);
    });
    const meta = await new Promise((ok) => {
      const r = db.transaction("meta").objectStore("meta").get("catalog");
      r.onsuccess = () => ok(r.result);
    });
    db.close();
    return meta.version;
  });
  await changedCatalog(
    page,
    (body) => {
      body.catalog_version = "c-duplicate-barcode";
      const [a, b] = body.products.filter((p) => p.barcodes.length > 0);
      b.barcodes.push(a.barcodes[0]);
    },
    (route) => route.continue(),
  );
  await page.reload();
  await expect(page.getByRole("alert")).toContainText("new catalog was not taken");
  await expect(page.getByRole("alert")).toContainText("is on both");
  // Still the old catalog: every product sells as before.
  await page.getByRole("button", { name: "Espresso", exact: true }).click();
  await expect(cart(page).getByLabel("Quantity of Espresso")).toHaveText("1");

  // The next sync asks for the catalog again, naming the one in use.
  await page.unroute("**/api/v1/catalog?*");
  const next = page.waitForRequest((r) => r.url().includes("/api/v1/catalog?"));
  await page.reload();
  expect((await next).headers()["if-none-match"]).toBe(`"${inUse}"`);
});

test("when a newer Till upgrades the database, an open tab lets go and says to reload", async ({ page }) => {
  await setUp(page);
  // What a newer Till does on opening: ask for a higher schema version.
  const upgraded = await page.evaluate(
    () =>
      new Promise((ok, err) => {
        const r = indexedDB.open("till", 1000);
        r.onsuccess = () => {
          r.result.close();
          ok(true);
        };
        r.onerror = () => err(r.error);
        r.onblocked = () => err(new Error("blocked: the old connection stayed open"));
      }),
  );
  expect(upgraded).toBe(true);
  await expect(page.getByRole("heading", { name: "Till was updated; reload" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Reload" })).toBeVisible();
});
