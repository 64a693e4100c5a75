// The card terminal as a device of its own: the bridge drives
// till-terminal over the Terminal API (HTTPS, sealed messages), and the
// terminal misbehaves on the wire the way real ones do. Each fault comes
// from the terminal's controls and lasts until the test lifts it; the
// tests wait for what the cashier sees, never for a time.
import { test, expect } from "@playwright/test";
import {
  setUp, latestAttempt, backOnTheRegister, simNext, simPost, bridgeFault, resetFaults, charges, terminalCharges, stored, omsPayments,
  ringUp, goPay, dialog, closeUnpaid, env, HIDDEN,
} from "./helpers.mjs";

test.afterEach(async ({ request }) => {
  await resetFaults(request);
  await charges(request);
});

async function chargesOf(request, reference) {
  return (await terminalCharges(request)).filter((c) => c.reference === reference);
}

async function bridgeStatus(request, reference) {
  const r = await request.get(`${env.bridge}/v1/payments/${reference}`, { headers: { "X-Pairing-Token": env.pairingToken } });
  return (await r.json()).status;
}

test("the terminal's answer is lost after the approval: Re-sync finds it by asking the terminal", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  // The approval's answer is dropped on its way back, and every call after
  // it is reset mid-call until the test lifts that: nobody hears of it.
  await simNext(request, { outcome: "approve", delay_ms: 0, report_to_oms_after_ms: 3_600_000 });
  expect((await simPost(request, "/_sim/drop-answers", { count: 1 })).status()).toBe(204);
  expect((await simPost(request, "/_sim/cut", { count: 1000 })).status()).toBe(204);
  await ringUp(page, "Mocha");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page).getByText("Payment result not received")).toBeVisible({ timeout: 15_000 });
  const attempt = await latestAttempt(page);
  expect(await chargesOf(request, attempt.reference)).toHaveLength(1);
  expect(await omsPayments(request, attempt.order_id)).toHaveLength(0);
  expect((await simPost(request, "/_sim/cut", { count: 0 })).status()).toBe(204);
  await dialog(page).getByRole("button", { name: "Re-sync (2 left)" }).click();
  await backOnTheRegister(page);
  expect(await chargesOf(request, attempt.reference)).toHaveLength(1);
  await expect.poll(async () => (await omsPayments(request, attempt.order_id)).length, { timeout: 15_000 }).toBe(1);
});

test("a busy terminal: the cashier is told, nothing is charged, and the next try goes through", async ({ page, request }) => {
  await setUp(page);
  expect((await simPost(request, "/_sim/busy", { count: 1 })).status()).toBe(204);
  await ringUp(page, "Flat white");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The terminal did not start the payment: the terminal is busy with another payment. Nothing was charged. Try again." })).toBeVisible({ timeout: 15_000 });
  await expect(dialog(page)).toHaveCount(0);
  const busy = await latestAttempt(page);
  expect(busy.state).toBe("failed");
  expect(await chargesOf(request, busy.reference)).toHaveLength(0);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await backOnTheRegister(page);
  const paid = await latestAttempt(page);
  expect(paid.reference).not.toBe(busy.reference);
  expect(await chargesOf(request, paid.reference)).toHaveLength(1);
});

test("a tampered answer is refused, and the payment stays in doubt until a status answers", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  // Every answer of the terminal fails its MAC until the test lifts that.
  await simNext(request, { outcome: "approve", delay_ms: 0, report_to_oms_after_ms: 3_600_000 });
  expect((await simPost(request, "/_sim/bad-mac", { count: 1000 })).status()).toBe(204);
  await ringUp(page, "Americano");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(dialog(page).getByText("Payment result not received")).toBeVisible({ timeout: 15_000 });
  const attempt = await latestAttempt(page);
  // Charged, but the bridge believes no message that did not verify.
  expect(await chargesOf(request, attempt.reference)).toHaveLength(1);
  expect(await bridgeStatus(request, attempt.reference)).toBe("unknown");
  expect(attempt.state).toBe("result_unknown");
  expect((await simPost(request, "/_sim/bad-mac", { count: 0 })).status()).toBe(204);
  await dialog(page).getByRole("button", { name: "Re-sync (2 left)" }).click();
  await backOnTheRegister(page);
  expect(await chargesOf(request, attempt.reference)).toHaveLength(1);
});

test("a refund to the card stays pending until the terminal's outcome arrives, then refunded, with one reversal", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  await ringUp(page, "Flat white");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await backOnTheRegister(page);
  const order = (await stored(page, "orders")).find((o) => o.status.state === "paid");
  const payment = order.tenders[0].reference;
  // The card's bank answers only when the test reveals it; the vendor's
  // notification comes an hour later.
  await simNext(request, HIDDEN);
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Refund" }).click();
  await page.getByRole("button", { name: "Whole order" }).click();
  await page.getByRole("button", { name: /^Refund €/ }).click();
  const popup = page.getByRole("dialog", { name: "Card refund" });
  await expect(popup.getByText("Refund result not received")).toBeVisible({ timeout: 15_000 });
  await popup.getByRole("button", { name: "Close & back to Register" }).click();
  const [refund] = await stored(page, "refunds");
  expect(refund.tenders[0]).toMatchObject({ method: "card", state: "pending" });
  const reversals = () => terminalCharges(request).then((list) => list.filter((c) => c.refund_of === payment));
  expect(await reversals()).toHaveLength(1);
  await page.goto(`/sales/${order.id}`);
  await expect(page.getByLabel("Order status")).toHaveText("paid · refund pending");
  // The terminal's outcome arrives; Download asks the bridge (which asks the terminal) and the back office.
  await simPost(request, `/_sim/payments/${refund.tenders[0].reference}/reveal`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Download" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("paid · refunded", { timeout: 15_000 });
  const [done] = await stored(page, "refunds");
  expect(done.tenders[0].state).toBe("approved");
  expect(await reversals()).toHaveLength(1);
});

/// A notification in the vendor's standard form for `attempt`, signed with
/// a key that is not the back office's.
function forgedNotification(attempt) {
  const signature = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  return {
    live: "false",
    notificationItems: [
      {
        NotificationRequestItem: {
          additionalData: {
            hmacSignature: signature,
            authCode: "000000",
            cardSummary: "0000",
            paymentMethodVariant: "visa",
            "metadata.orderId": attempt.order_id,
          },
          amount: { currency: "EUR", value: attempt.amount.amount },
          eventCode: "AUTHORISATION",
          eventDate: new Date().toISOString(),
          merchantAccountCode: "TillStore",
          merchantReference: attempt.reference,
          paymentMethod: "visa",
          pspReference: "FORGED0000000001",
          success: "true",
        },
      },
    ],
  };
}

test("the terminal's vendor alone turns a closed-unpaid order paid, with the bridge down for the day; a wrongly signed notification changes nothing", async ({ page, request }) => {
  await setUp(page, { resultWait: 3 });
  const attempt = await closeUnpaid(page, request, "Iced latte");
  const order = (await stored(page, "orders")).find((o) => o.id === attempt.order_id);
  expect((await bridgeFault(request, "down")).status()).toBe(204);
  // Someone on the network forges the vendor's notification: refused.
  const forged = await request.post("/api/v1/notifications/terminal", { data: forgedNotification(attempt) });
  expect(forged.status()).toBe(401);
  expect(await omsPayments(request, attempt.order_id)).toHaveLength(0);
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Download" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The back office has no payment for this order yet" })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByLabel("Order status")).toHaveText("unpaid — payment pending confirmation");
  // The terminal's vendor notifies the back office, signed.
  expect((await simPost(request, `/_sim/payments/${attempt.reference}/report`)).status()).toBe(202);
  await expect.poll(async () => (await omsPayments(request, attempt.order_id)).length, { timeout: 15_000 }).toBe(1);
  const [payment] = await omsPayments(request, attempt.order_id);
  expect(payment.psp_reference).toMatch(/^TL/);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Download" }).click();
  await expect(page.getByLabel("Order status")).toHaveText("paid", { timeout: 15_000 });
});

test("a tip the customer adds on the terminal is on the receipt and in the Z report, apart from the sale, and goes back to the card", async ({ page, request }) => {
  await setUp(page, { tips: true });
  // The store asks for tips; this customer adds €1.50 to a €4.00 sale.
  await simNext(request, { outcome: "approve", delay_ms: 0, tip_minor: 150 });
  await ringUp(page, "Flat white");
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await backOnTheRegister(page);
  const attempt = await latestAttempt(page);
  expect(await chargesOf(request, attempt.reference)).toMatchObject([{ amount: 550, tip_minor: 150 }]);
  const order = (await stored(page, "orders")).find((o) => o.id === attempt.order_id);
  expect(order.status.state).toBe("paid");
  expect(order.totals.total.amount).toBe(400);
  expect(order.tenders[0]).toMatchObject({ method: "card", amount: { amount: 400 }, tip: { amount: 150, currency: "EUR" } });

  await page.goto(`/receipt/${order.id}`);
  const receipt = page.getByRole("article", { name: "Receipt" });
  await expect(receipt).toContainText(/Total\s*€4\.00/);
  await expect(receipt).toContainText(/Tip\s*€1\.50/);
  await expect(receipt).toContainText(/Charged to the card\s*€5\.50/);

  // The tip alone goes back to the card: one reversal of €1.50.
  await simNext(request, { outcome: "approve", delay_ms: 0 });
  await page.goto(`/sales/${order.id}`);
  await page.getByRole("button", { name: "Options" }).click();
  await page.getByRole("menuitem", { name: "Refund" }).click();
  await page.getByLabel("Give back the tip (€1.50)").check();
  await expect(page.getByLabel("Refund summary")).toContainText("Refund total: €1.50");
  await page.getByRole("button", { name: "Refund €1.50" }).click();
  const done = page.getByRole("status").filter({ hasText: "back to the card" });
  await expect(done).toContainText("€1.50 back to the card: approved", { timeout: 15_000 });
  const reversals = (await terminalCharges(request)).filter((c) => c.refund_of === attempt.reference);
  expect(reversals.map((c) => c.amount)).toEqual([150]);
  await page.getByRole("link", { name: "Print refund receipt" }).click();
  await expect(page.getByRole("article", { name: "Refund receipt" })).toContainText(/Tip given back\s*-€1\.50/);

  // The shift's Z report: the sale is €4.00 by card, the tip counted apart.
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Shift", exact: true }).click();
  await page.getByLabel("Counted total").fill("100.00");
  await page.getByRole("button", { name: "Close shift" }).click();
  const z = page.getByRole("article", { name: "Shift Z report" });
  await expect(z.getByLabel("Shift sales")).toHaveText("1 (€4.00)");
  await expect(z.getByLabel("Shift card")).toHaveText("€4.00");
  await expect(z.getByLabel("Shift tips", { exact: true })).toHaveText("€1.50");
  await expect(z.getByLabel("Shift tips refunded")).toHaveText("€1.50");
  await expect(z.getByLabel("Over or short")).toHaveText("Even");
  // The back office holds the tip with the payment the terminal reported.
  await expect.poll(async () => (await omsPayments(request, order.id)).find((p) => p.reference === attempt.reference)?.tip, { timeout: 15_000 })
    .toEqual({ amount: 150, currency: "EUR" });
});
