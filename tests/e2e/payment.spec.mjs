// The card payment of the seed article, case by case, against the real
// bridge and its simulated terminal (driven through /_sim, never timing
// luck), plus cash and split tender. After each case: no reference charged
// twice, and approved payments reach the OMS.
import { test, expect } from "@playwright/test";
import { setUp, cart, latestAttempt, backOnTheRegister, simNext, simPost, resetFaults, charges, terminalCharges, stored, omsPayments, ringUp, goPay, dialog, env, countPrints, prints, HIDDEN } from "./helpers.mjs";

test.afterEach(async ({ request }) => {
  await resetFaults(request);
  await charges(request);
});

test("hole 16: approve: the popup closes by itself, back to the register, the order is paid, the OMS has the payment", async ({ page, request }) => {
  await setUp(page);
  await ringUp(page, "Espresso");
  await goPay(page);
  await expect(page.getByLabel("Amount due")).toHaveText("€2.40");
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page)).toBeVisible();
  await expect(dialog(page).getByText("Processing…")).toBeVisible();
  await expect(dialog(page).getByText("€2.40")).toBeVisible();
  await expect(dialog(page).getByRole("button", { name: /^Cancel \(\d+ s\)$/ })).toBeVisible();
  await expect(dialog(page)).toHaveCount(0, { timeout: 15_000 });
  await backOnTheRegister(page);
  const attempt = await latestAttempt(page);
  expect(attempt.state).toBe("approved");
  await page.goto(`/receipt/${attempt.order_id}`);
  const receipt = page.getByRole("article", { name: "Receipt" });
  await expect(receipt).toContainText("PAID");
  await expect(receipt).toContainText("Card €2.40");
  await expect.poll(async () => (await omsPayments(request, attempt.order_id)).length, { timeout: 15_000 }).toBe(1);
});

test("decline: back to the payment page with the reason", async ({ page, request }) => {
  await setUp(page);
  await ringUp(page, "Test: card declined (…51)");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Payment declined: insufficient funds" })).toBeVisible({ timeout: 15_000 });
  await expect(dialog(page)).toHaveCount(0);
  await expect(page.getByLabel("Amount due")).toHaveText("€10.51");
  const attempt = await latestAttempt(page);
  expect((await charges(request)).filter((c) => c.reference === attempt.reference)).toHaveLength(0);
});

test("cancel within 30 s: back to the payment page, then pay by cash", async ({ page, request }) => {
  await setUp(page);
  await simNext(request, { outcome: "approve", delay_ms: 60000 });
  await ringUp(page, "Cappuccino");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await dialog(page).getByRole("button", { name: /^Cancel/ }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Payment cancelled" })).toBeVisible();
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€5.00" }).click();
  await expect(page.getByLabel("Change due")).toHaveText("€1.20");
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Change €1.20" })).toBeVisible();
  const attempt = await latestAttempt(page);
  expect(attempt.state).toBe("cancelled");
  expect((await charges(request)).filter((c) => c.reference === attempt.reference)).toHaveLength(0);
});

test("cancel after capture: the Abort lands after the approval, and the order is paid, not cancelled", async ({ page, request }) => {
  await setUp(page);
  // The terminal approves at once; its answers wait until the test releases them.
  await simNext(request, { outcome: "approve", delay_ms: 0 });
  expect((await simPost(request, "/_sim/hold")).status()).toBe(204);
  await ringUp(page, "Mocha");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  const attempt = await latestAttempt(page);
  await expect.poll(async () => (await terminalCharges(request)).filter((c) => c.reference === attempt.reference).length).toBe(1);
  await dialog(page).getByRole("button", { name: /^Cancel/ }).click();
  // The Abort reached the terminal after the approval: both answers wait there.
  await expect.poll(async () => (await (await request.get(`${env.terminal}/_sim/faults`)).json()).held).toBe(2);
  expect((await simPost(request, "/_sim/release")).status()).toBe(204);
  await backOnTheRegister(page);
  expect((await stored(page, "payments")).find((a) => a.reference === attempt.reference).state).toBe("approved");
  expect((await charges(request)).filter((c) => c.reference === attempt.reference)).toHaveLength(1);
  await expect.poll(async () => (await omsPayments(request, attempt.order_id)).length, { timeout: 15_000 }).toBe(1);
});

test("hidden result: the first Re-sync finds it and the order is paid", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  await simNext(request, HIDDEN);
  await ringUp(page, "Flat white");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page).getByText("Payment result not received")).toBeVisible({ timeout: 15_000 });
  await expect(dialog(page).getByRole("button", { name: "Re-sync (2 left)" })).toBeVisible();
  await expect(dialog(page).getByRole("button", { name: "Close & back to Register" })).toBeVisible();
  const attempt = await latestAttempt(page);
  await simPost(request, `/_sim/payments/${attempt.reference}/reveal`);
  await dialog(page).getByRole("button", { name: "Re-sync (2 left)" }).click();
  await backOnTheRegister(page);
  await expect.poll(async () => (await omsPayments(request, attempt.order_id)).length, { timeout: 15_000 }).toBe(1);
});

test("hidden result: two failed re-syncs leave only Close & back to Register, and the order is unpaid", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  await simNext(request, HIDDEN);
  await ringUp(page, "Iced latte");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  const d = dialog(page);
  await d.getByRole("button", { name: "Re-sync (2 left)" }).click({ timeout: 15_000 });
  await d.getByRole("button", { name: "Re-sync (1 left)" }).click();
  await expect(d.getByRole("button", { name: /Re-sync/ })).toHaveCount(0);
  await d.getByRole("button", { name: "Close & back to Register" }).click();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page.getByRole("alert").filter({ hasText: "closed unpaid" })).toBeVisible();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
  const attempt = await latestAttempt(page);
  expect(attempt.state).toBe("closed_unpaid");
  const order = (await stored(page, "orders")).find((o) => o.id === attempt.order_id);
  expect(order.status).toEqual({ state: "unpaid", reference: attempt.reference, reason: "pending_confirmation" });
  expect((await charges(request)).filter((c) => c.reference === attempt.reference)).toHaveLength(1);
});

test("split tender: part cash, the rest by card", async ({ page }) => {
  await setUp(page);
  await ringUp(page, "Test: card approved (…00)");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByLabel("Amount tendered").fill("4");
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByLabel("Amount due")).toHaveText("€6.00");
  await expect(page.getByRole("list", { name: "Paid so far" })).toContainText("Cash €4.00");
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await backOnTheRegister(page);
  // "Print receipt" on the notice prints this sale's receipt.
  await page.getByRole("button", { name: "Print receipt" }).click();
  const [order] = (await stored(page, "orders")).filter((o) => o.tenders.length === 2);
  await page.goto(`/receipt/${order.id}`);
  const receipt = page.getByRole("article", { name: "Receipt" });
  await expect(receipt).toContainText("Card €6.00");
  await expect(receipt).toContainText("Cash €4.00");
  await expect(receipt).toContainText("PAID");
});

test("cash: empty, negative and absurd amounts get a clear message", async ({ page }) => {
  await setUp(page);
  await ringUp(page, "Espresso");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  const confirm = page.getByRole("button", { name: "Confirm" });
  await confirm.click();
  await expect(page.getByRole("alert")).toContainText("Enter the amount tendered");
  await page.getByLabel("Amount tendered").fill("-5");
  await confirm.click();
  await expect(page.getByRole("alert")).toContainText("cannot be negative");
  await page.getByLabel("Amount tendered").fill("99999999");
  await confirm.click();
  await expect(page.getByRole("alert")).toContainText("far more than");
  await page.getByLabel("Amount tendered").fill("abc");
  await confirm.click();
  await expect(page.getByRole("alert")).toContainText("is not an amount");
  await expect(page.getByLabel("Amount due")).toHaveText("€2.40");
});

test("the double-charge guard refuses a second card attempt while one is in doubt", async ({ page }) => {
  await setUp(page);
  await ringUp(page, "Test: card approved (…00)");
  await goPay(page);
  // Pay part in cash so the order exists, then plant an attempt in doubt for it.
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByLabel("Amount tendered").fill("1");
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByLabel("Amount due")).toHaveText("€9.00");
  const [order] = (await stored(page, "orders")).filter((o) => o.status.state === "open");
  await page.evaluate(
    (orderId) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("till");
        open.onsuccess = () => {
          const tx = open.result.transaction("payments", "readwrite");
          tx.objectStore("payments").put({
            reference: crypto.randomUUID(), order_id: orderId, amount: { amount: 900, currency: "EUR" },
            requested_at: Date.now(), accepted_at: Date.now(), state: "result_unknown", resyncs_used: 0, updated_at: Date.now(),
          });
          tx.oncomplete = resolve;
          tx.onerror = () => reject(tx.error);
        };
      }),
    order.id,
  );
  // The register did not know of it (it was planted behind its back): the
  // guard inside the write-ahead transaction refuses, before anything is sent.
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "A card payment is in progress for this sale" })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole("alert").filter({ hasText: "Nothing was charged" })).toBeVisible();
  await expect(dialog(page)).toHaveCount(0);
});

test("reload while processing: the popup comes back after a status query, and one charge at most", async ({ page, request }) => {
  await setUp(page);
  await simNext(request, { outcome: "approve", delay_ms: 4000 });
  await ringUp(page, "Americano");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page).getByText("Processing…")).toBeVisible();
  await page.reload();
  await expect(dialog(page)).toBeVisible();
  await backOnTheRegister(page);
  const attempt = await latestAttempt(page);
  expect((await charges(request)).filter((c) => c.reference === attempt.reference)).toHaveLength(1);
  expect(await stored(page, "payments")).toHaveLength(1);
});

test("reload while the result is unknown: the popup comes back in the same state", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  await simNext(request, HIDDEN);
  await ringUp(page, "Macchiato");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await dialog(page).getByRole("button", { name: "Re-sync (2 left)" }).click({ timeout: 15_000 });
  await expect(dialog(page).getByRole("button", { name: "Re-sync (1 left)" })).toBeVisible();
  await page.reload();
  await expect(dialog(page).getByText("Payment result not received")).toBeVisible({ timeout: 15_000 });
  await expect(dialog(page).getByRole("button", { name: "Re-sync (1 left)" })).toBeVisible();
  const attempt = await latestAttempt(page);
  await simPost(request, `/_sim/payments/${attempt.reference}/reveal`);
  await dialog(page).getByRole("button", { name: "Re-sync (1 left)" }).click();
  await backOnTheRegister(page);
  expect((await charges(request)).filter((c) => c.reference === attempt.reference)).toHaveLength(1);
});

test("reload while requested: the bridge never got it, so nothing was charged and the cashier may try again", async ({ page, request }) => {
  await setUp(page);
  await ringUp(page, "Decaf coffee");
  await goPay(page);
  // The start request leaves the browser but never reaches the bridge.
  await page.route(`${env.bridge}/v1/payments`, () => {});
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page)).toBeVisible();
  await expect.poll(async () => (await stored(page, "payments")).map((a) => a.state)).toEqual(["requested"]);
  // The reload abandons the held request: the bridge never hears of it,
  // and says so for good (a start that arrived now would be refused).
  await page.reload();
  await expect(page.getByRole("alert").filter({ hasText: "never reached the terminal" })).toBeVisible({ timeout: 15_000 });
  expect((await stored(page, "payments")).map((a) => a.state)).toEqual(["failed"]);
  await page.unroute(`${env.bridge}/v1/payments`);
  const held = (await stored(page, "payments"))[0];
  const late = await request.post(`${env.bridge}/v1/payments`, {
    headers: { "X-Pairing-Token": env.pairingToken },
    data: { reference: held.reference, order_id: held.order_id, amount: held.amount.amount, currency: held.amount.currency },
  });
  expect(late.status(), "a late start of a never-received payment is refused").toBe(409);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await backOnTheRegister(page);
  const all = await stored(page, "payments");
  expect(all.map((a) => a.state).sort()).toEqual(["approved", "failed"]);
  const failed = all.find((a) => a.state === "failed");
  expect((await charges(request)).filter((c) => c.reference === failed.reference)).toHaveLength(0);
});

test("hole 16: the receipt prints from the register's notice, or by itself when the store turns it on", async ({ page }) => {
  await countPrints(page);
  await setUp(page);
  await ringUp(page, "Espresso");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€5.00" }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Paid — order" })).toBeVisible();
  expect(await prints(page), "nothing prints unless asked").toEqual([]);
  await page.getByRole("button", { name: "Print receipt" }).click();
  await expect.poll(async () => (await prints(page)).length).toBe(1);
  const [first] = await prints(page);
  expect(first).toContain("Espresso");
  expect(first).toContain("Change");

  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Print the receipt by itself when a sale is paid").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await page.getByRole("link", { name: "Register", exact: true }).click();
  await ringUp(page, "Croissant");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: "€1.95" }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect.poll(async () => (await prints(page)).length).toBe(2);
  expect((await prints(page))[1]).toContain("Croissant");
});
