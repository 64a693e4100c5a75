// Till's service worker: the app shell (HTML, JS, WASM, CSS, icons) is
// cached at install, so the register opens with no network at all. A new
// deploy installs beside the running version and waits: the page offers
// "Update available — reload" and switches only when the cashier says so,
// never in the middle of a sale. Data (/api) always goes to the network.
//
// The build step (tools/sw-precache.mjs) fills in BUILD and PRECACHE with
// the build's hashed file names and a hash of their contents.
const BUILD = "__TILL_BUILD__";
const PRECACHE = __TILL_PRECACHE__;
const CACHE = `till-shell-${BUILD}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("till-shell-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/_")) return;
  const key = request.mode === "navigate" ? "/index.html" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(key)) || fetch(request)),
  );
});
