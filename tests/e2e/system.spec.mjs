// The whole system is wired: the app's page may reach the OMS and the
// bridge (Content-Security-Policy and CORS), with the development tokens.
import { test, expect } from "@playwright/test";

const bridge = process.env.TILL_BRIDGE_URL;
const terminal = process.env.TILL_TERMINAL_CONTROLS;
const registerToken = process.env.TILL_REGISTER_TOKEN;
const pairingToken = process.env.TILL_PAIRING_TOKEN;

test("the app's page reaches the OMS and the bridge", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Set up this register" })).toBeVisible();
  const result = await page.evaluate(
    async ({ bridge, registerToken, pairingToken }) => {
      const oms = await fetch("/api/v1/catalog?limit=1", { headers: { Authorization: `Bearer ${registerToken}` } });
      const catalog = await oms.json();
      const b = await fetch(`${bridge}/v1/health`, { headers: { "X-Pairing-Token": pairingToken } });
      return { oms: oms.status, products: catalog.products_total, bridge: b.status };
    },
    { bridge, registerToken, pairingToken },
  );
  expect(result).toEqual({ oms: 200, products: 86, bridge: 200 });
});

test("a card payment through the bridge is charged once and reported to the OMS", async ({ request }) => {
  const reference = crypto.randomUUID();
  // A UUID v7 order id: version nibble 7, variant 8.
  const hex = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const orderId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  const headers = { "X-Pairing-Token": pairingToken };
  const start = await request.post(`${bridge}/v1/payments`, {
    headers,
    data: { reference, order_id: orderId, amount: 1200, currency: "EUR" },
  });
  expect(start.status()).toBe(202);
  await expect
    .poll(async () => (await (await request.get(`${bridge}/v1/payments/${reference}`, { headers })).json()).status, { timeout: 15_000 })
    .toBe("approved");
  const charges = await (await request.get(`${terminal}/_sim/charges`)).json();
  expect(charges.filter((c) => c.reference === reference)).toHaveLength(1);
  await expect
    .poll(
      async () => {
        const r = await request.get(`/api/v1/orders/${orderId}`, { headers: { Authorization: `Bearer ${registerToken}` } });
        return r.ok() ? (await r.json()).payments.length : 0;
      },
      { timeout: 15_000 },
    )
    .toBe(1);
});
