// What every end-to-end test needs: a register that has been set up.
import { expect } from "@playwright/test";

export const env = {
  bridge: process.env.TILL_BRIDGE_URL,
  // The simulated terminal's test controls (till-terminal --sim-controls).
  terminal: process.env.TILL_TERMINAL_CONTROLS,
  registerId: process.env.TILL_REGISTER_ID,
  registerToken: process.env.TILL_REGISTER_TOKEN,
  pairingToken: process.env.TILL_PAIRING_TOKEN,
};

/// First run: fill in the setup form the way a store's administrator
/// would, then manager Dana signs in (she needs nobody's approval; the
/// tests of cashiers sign Alex in themselves).
export async function setUp(page, { resultWait, tips } = {}) {
  await fillSetup(page, { resultWait, tips });
  await signIn(page, "Dana", MANAGER_PIN);
  await openShift(page, "100.00");
  // The shift reached the back office: tests count what is unsynced after.
  await expect(page.getByRole("status", { name: "Status" })).toContainText("0 unsynced", { timeout: 30_000 });
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page.getByRole("button", { name: "Espresso", exact: true })).toBeVisible();
}

/// Nobody sells without an open shift: from the register's "No shift is
/// open" banner, the float counted as a total, then back to the register.
export async function openShift(page, float) {
  await page.getByRole("link", { name: "Open shift" }).click();
  await expect(page.getByRole("heading", { name: "Open a shift" })).toBeVisible();
  await page.getByLabel("Float total").fill(float);
  await page.getByRole("button", { name: "Open shift" }).click();
  await expect(page.getByText(/^Open since \d\d:\d\d by /)).toBeVisible();
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Register", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
}

/// First run's setup form, up to the sign-in screen.
export async function fillSetup(page, { resultWait, tips } = {}) {
  // "Leave with unsynced orders?" is answered "leave" in tests that reload.
  page.on("dialog", (d) => d.accept());
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Set up this register" })).toBeVisible();
  await expect(page.getByLabel("OMS URL")).toHaveValue(new URL(page.url()).origin);
  await page.getByLabel("Register id").fill(env.registerId);
  await page.getByLabel("Register token").fill(env.registerToken);
  await page.getByLabel("Bridge URL").fill(env.bridge);
  await page.getByLabel("Pairing token").fill(env.pairingToken);
  if (resultWait) await page.getByLabel("Card result wait (seconds)").fill(String(resultWait));
  if (tips) await page.getByLabel("Ask for a tip on the card terminal").check();
  await page.getByRole("button", { name: "Start selling" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
}

/// The demo staff's PINs (printed by `cargo xtask serve`).
export const CASHIER_PIN = "1357";
export const MANAGER_PIN = "2468";

/// The sign-in screen: choose the person, type the PIN on the keypad, and
/// wait until they are signed in (the PIN is checked, the desk written: a
/// reload right after keeps them signed in).
export async function signIn(page, name, pin) {
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByRole("button", { name: new RegExp(`^${name}( \\(manager\\))?$`) }).click();
  await typePin(page, pin);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByLabel(`Signed in: ${name}`)).toBeVisible();
  // Written to the register's storage (the demo staff's ids are their names).
  await expect.poll(() => storedDesk(page).then((d) => d?.current)).toBe(name.toLowerCase());
}

/// Types `pin` on the keypad on screen (sign-in, or a manager's approval).
export async function typePin(page, pin) {
  const keypad = page.getByRole("group", { name: "Keypad" });
  for (const d of pin) await keypad.getByRole("button", { name: d, exact: true }).click();
}

/// The register's stored desk: the staff list, who is signed in, PIN tries.
async function storedDesk(page) {
  return storedMeta(page, "desk");
}

/// One record of the register's `meta` store (the desk, the catalog's
/// meta, the current sale), as stored.
export async function storedMeta(page, key) {
  return page.evaluate(
    (key) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("till");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction("meta").objectStore("meta").get(key);
          // Closed after reading: an open connection would block the app's
          // own database upgrades (the PWA tests upgrade it).
          req.onsuccess = () => {
            db.close();
            resolve(req.result);
          };
          req.onerror = () => {
            db.close();
            reject(req.error);
          };
        };
      }),
    key,
  );
}

export function cart(page) {
  return page.getByRole("region", { name: "Cart" });
}

const pairing = () => ({ "X-Pairing-Token": env.pairingToken });

/// The terminal approves at once and the result reaches nobody: the
/// bridge's answer is lost and the terminal says "in progress" until the
/// test reveals it, and its vendor notifies the back office only an hour
/// later (or when the test sends the notification now).
export const HIDDEN = { outcome: "approve", delay_ms: 0, hide_result: true, report_to_oms_after_ms: 3_600_000 };

/// Sets the simulated terminal's behaviour for the next payment.
export async function simNext(request, behaviour) {
  const r = await request.post(`${env.terminal}/_sim/next`, { data: behaviour });
  expect(r.ok()).toBe(true);
}

/// A control of the simulated terminal (`/_sim/...`): reveal, report, busy,
/// drop-answers, bad-mac, off, on...
export async function simPost(request, path, data) {
  return request.post(`${env.terminal}${path}`, data === undefined ? {} : { data });
}

/// A fault of the bridge's own API (`/_faults/down`, `up`, `latency`,
/// `drop-replies`), the LAN between the tablet and the bridge.
export async function bridgeFault(request, what, data) {
  return request.post(`${env.bridge}/_faults/${what}`, { headers: pairing(), ...(data === undefined ? {} : { data }) });
}

/// Every fault lifted: the bridge's, and the terminal's (its next behaviour too).
export async function resetFaults(request) {
  expect((await simPost(request, "/_sim/reset")).status()).toBe(204);
  expect((await bridgeFault(request, "reset")).status()).toBe(204);
}

/// What the terminal made on cards, unchecked.
export async function terminalCharges(request) {
  return (await request.get(`${env.terminal}/_sim/charges`)).json();
}

/// Every charge the terminal made; fails if any reference was charged
/// twice, or any order was charged by two card payments (no test here pays
/// one order twice by card: a second charge would be a double charge).
export async function charges(request) {
  const list = await terminalCharges(request);
  const refs = list.map((c) => c.reference);
  expect(new Set(refs).size, `a reference charged twice: ${JSON.stringify(list)}`).toBe(refs.length);
  const orders = list.filter((c) => c.order_id && !c.refund_of).map((c) => c.order_id);
  expect(new Set(orders).size, `an order charged twice: ${JSON.stringify(list)}`).toBe(orders.length);
  return list;
}

/// Counts the print dialogs the page opens (headless Chromium has none).
export async function countPrints(page) {
  await page.addInitScript(() => {
    window.__prints = [];
    window.print = () => window.__prints.push(document.querySelector(".print-area")?.innerText ?? "");
  });
}

export async function prints(page) {
  return page.evaluate(() => window.__prints);
}

/// Reads a store of the register's IndexedDB.
export async function stored(page, store) {
  return page.evaluate(
    (store) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("till");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        };
      }),
    store,
  );
}

/// The payments the OMS holds for an order.
export async function omsPayments(request, orderId) {
  const r = await request.get(`/api/v1/orders/${orderId}`, { headers: { Authorization: `Bearer ${env.registerToken}` } });
  return r.ok() ? (await r.json()).payments : [];
}

/// Adds one product by its tile (searching for it first) and opens the payment page.
export async function ringUp(page, name) {
  await page.getByLabel("Search products").fill(name.split(" (")[0]);
  await page.getByRole("button", { name, exact: true }).click();
  await page.getByLabel("Search products").fill("");
}

/// One sale of `name` paid in cash with the exact amount `due`.
export async function exactCashSale(page, name, due) {
  await ringUp(page, name);
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByRole("button", { name: due, exact: true }).click();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
}

export async function goPay(page) {
  await cart(page).getByRole("button", { name: /^Pay / }).click();
  await expect(page.getByRole("heading", { name: "Payment" })).toBeVisible();
}

export function dialog(page) {
  return page.getByRole("dialog", { name: "Card payment" });
}

/// A card sale whose result stays hidden, closed unpaid after two failed re-syncs.
export async function closeUnpaid(page, request, name) {
  await simNext(request, HIDDEN);
  await ringUp(page, name);
  await goPay(page);
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await dialog(page).getByRole("button", { name: "Re-sync (2 left)" }).click({ timeout: 15_000 });
  await dialog(page).getByRole("button", { name: "Re-sync (1 left)" }).click();
  await dialog(page).getByRole("button", { name: "Close & back to Register" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "closed unpaid" })).toBeVisible();
  const attempts = await stored(page, "payments");
  return attempts.find((a) => a.state === "closed_unpaid");
}

/// A sale of "Test: card approved (…00)" (€10.00): €4.00 in cash, the rest
/// by card. Returns its order.
export async function splitSale(page) {
  await ringUp(page, "Test: card approved (…00)");
  await goPay(page);
  await page.getByRole("button", { name: "Cash", exact: true }).click();
  await page.getByLabel("Amount tendered").fill("4");
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByRole("button", { name: "Card (mPOS)" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible({ timeout: 15_000 });
  const [order] = (await stored(page, "orders")).filter((o) => o.tenders.length === 2);
  return order;
}

/// The card attempt this register started last, as stored.
export async function latestAttempt(page) {
  await expect.poll(async () => (await stored(page, "payments")).length).toBeGreaterThan(0);
  const attempts = await stored(page, "payments");
  return attempts.sort((a, b) => b.requested_at - a.requested_at)[0];
}

/// The seed article: a successful payment "will automatically close your
/// payment and bring you back to the register page".
export async function backOnTheRegister(page) {
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole("alert").filter({ hasText: /^Paid — order/ })).toBeVisible();
  await expect(cart(page).getByText("The cart is empty")).toBeVisible();
}
