// Sync benchmark, run by `cargo xtask bench`: how long the register takes to
// drain 1,000 and 10,000 queued orders to a real OMS (durable commits), next
// to posting the same number of orders straight to the batch endpoint from
// the same page. Printed as a table and as one JSON line.
import { chromium } from "playwright-core";

const base = process.env.TILL_BENCH_OMS_URL;
const bridge = process.env.TILL_BENCH_BRIDGE_URL;
const env = { registerId: process.env.TILL_REGISTER_ID, registerToken: process.env.TILL_REGISTER_TOKEN, pairingToken: process.env.TILL_PAIRING_TOKEN };
const SIZES = [1000, 10000];

const browser = await chromium.launch({
  executablePath: process.env.TILL_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
page.on("dialog", (d) => d.accept());

// The sign-in screen: the demo cashier (PINs printed by `cargo xtask serve`).
async function signIn(page) {
  await page.getByRole("button", { name: "Alex", exact: true }).click();
  for (const d of "1357") await page.getByRole("group", { name: "Keypad" }).getByRole("button", { name: d, exact: true }).click();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

// One real sale, to copy: its totals are what till-core computed.
await page.goto(base + "/");
await page.getByLabel("Register id").fill(env.registerId);
await page.getByLabel("Register token").fill(env.registerToken);
await page.getByLabel("Bridge URL").fill(bridge);
await page.getByLabel("Pairing token").fill(env.pairingToken);
await page.getByRole("button", { name: "Start selling" }).click();
await signIn(page);
// Nobody sells until a shift is open (without one, the sale never got its
// item and the bench stopped at a disabled "Pay €0.00").
await page.getByRole("link", { name: "Open shift" }).click();
await page.getByLabel("Float total").fill("100.00");
await page.getByRole("button", { name: "Open shift" }).click();
await page.getByText(/^Open since \d\d:\d\d by /).waitFor();
await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Register", exact: true }).click();
await page.getByRole("button", { name: "Espresso", exact: true }).click();
await page.getByRole("button", { name: /^Pay / }).click();
await page.getByRole("button", { name: "Cash", exact: true }).click();
await page.getByRole("button", { name: "€2.40", exact: true }).click();
await page.getByRole("button", { name: "Confirm" }).click();
await page.getByRole("alert").filter({ hasText: /^Paid — order/ }).waitFor();
await page.getByText("0 unsynced").waitFor({ timeout: 30_000 });

const template = await page.evaluate(
  () =>
    new Promise((resolve) => {
      indexedDB.open("till").onsuccess = (e) => {
        const req = e.target.result.transaction("orders").objectStore("orders").getAll();
        req.onsuccess = () => resolve(req.result[0]);
      };
    }),
);

// Copies of the sale with fresh v7 ids and numbers from `first`.
const copies = (n, first) => {
  const out = [];
  const ms = Date.now();
  for (let i = 0; i < n; i++) {
    const r = [...crypto.getRandomValues(new Uint8Array(10))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const t = (ms + i).toString(16).padStart(12, "0");
    const id = `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(0, 3)}-8${r.slice(3, 6)}-${r.slice(6, 18)}`;
    const [reg, date] = template.number.split("-");
    out.push({ ...template, id, number: `${reg}-${date}-${String(first + i).padStart(4, "0")}` });
  }
  return out;
};

const results = [];
let next = 1000;
for (const n of SIZES) {
  // Queue n orders while the app is not running (as after a day offline).
  // A page of the same origin that does not run the app (the service
  // worker serves the app for every navigation outside /api).
  await page.goto(base + "/api/v1/health");
  const queued = copies(n, next);
  next += n;
  await page.evaluate(async (orders) => {
    const db = await new Promise((resolve) => (indexedDB.open("till").onsuccess = (e) => resolve(e.target.result)));
    for (let i = 0; i < orders.length; i += 1000) {
      await new Promise((resolve, reject) => {
        const tx = db.transaction(["orders", "outbox"], "readwrite");
        for (const o of orders.slice(i, i + 1000)) {
          tx.objectStore("orders").put(o);
          tx.objectStore("outbox").put({ order_id: o.id, version: o.version, enqueued_at: Date.now(), attempts: 0, next_attempt_at: Date.now(), state: "pending" });
        }
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
    }
    db.close();
  }, queued);
  const stillQueued = await page.evaluate(
    () => new Promise((resolve) => (indexedDB.open("till").onsuccess = (e) => { const r = e.target.result.transaction("outbox").objectStore("outbox").count(); r.onsuccess = () => resolve(r.result); })),
  );
  if (stillQueued !== n) throw new Error(`expected ${n} queued orders, found ${stillQueued}`);
  // Start the register and time until the outbox is empty.
  const t0 = Date.now();
  await page.goto(base + "/");
  const outboxCount = () =>
    page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open("till");
          open.onerror = () => reject(open.error);
          open.onsuccess = (e) => {
            const req = e.target.result.transaction("outbox").objectStore("outbox").count();
            req.onsuccess = () => resolve(req.result);
          };
        }),
    );
  while ((await outboxCount()) > 0) {
    if (Date.now() - t0 > 300_000) throw new Error(`the outbox did not drain in 5 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const drain = Date.now() - t0;

  // Baseline: the same number of new orders posted straight to the batch endpoint.
  const direct = copies(n, next);
  next += n;
  const raw = await page.evaluate(
    async ({ orders, token }) => {
      const t = performance.now();
      for (let i = 0; i < orders.length; i += 500) {
        const r = await fetch("/api/v1/orders:batch", {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify({ orders: orders.slice(i, i + 500) }),
        });
        if (!r.ok) throw new Error(`batch ${r.status}`);
      }
      return performance.now() - t;
    },
    { orders: direct, token: env.registerToken },
  );
  results.push({ name: `drain_${n}_orders_ms`, value: drain, unit: "ms", baseline: { name: `direct_batch_post_${n}_ms`, value: raw } });
}
await browser.close();

console.log("Sync benchmarks (queued orders drained by the register to a real OMS; target: 10,000 in ≤ 30 s)");
const pad = (s, n) => String(s).padEnd(n);
const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1)).padStart(12);
console.log(pad("benchmark", 24) + pad("value", 13) + pad("unit", 6) + pad("baseline", 26) + "baseline".padStart(12) + "   ratio");
for (const r of results) console.log(pad(r.name, 24) + num(r.value) + " " + pad(r.unit, 6) + pad(r.baseline.name, 26) + num(r.baseline.value) + "   " + (r.value / r.baseline.value).toFixed(2));
console.log(JSON.stringify({ suite: "sync", results }));
