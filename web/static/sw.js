// Corkboard's service worker: keeps the page's own files (not the API) so
// that a board can be opened again while the server is unreachable. Every
// file is fetched from the network first and the copy kept; the copy is
// used only when the network fails. Navigations fall back to the page
// (index.html serves every route of the page).

const CACHE = "corkboard-page-v1";

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.add("/")).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

// The page names the files it loaded before this worker controlled it.
self.addEventListener("message", (e) => {
  const urls = (e.data && e.data.keep) || [];
  const mine = urls.filter((u) => { try { const x = new URL(u, self.location); return x.origin === self.location.origin && !x.pathname.startsWith("/api/"); } catch { return false; } });
  e.waitUntil(caches.open(CACHE).then((c) => Promise.all(mine.map((u) => c.add(u).catch(() => {})))));
});

self.addEventListener("fetch", (e) => {
  const r = e.request;
  if (r.method !== "GET") return;
  const url = new URL(r.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  const key = r.mode === "navigate" ? "/" : r;
  e.respondWith((async () => {
    const c = await caches.open(CACHE);
    try {
      const res = await fetch(r);
      if (res.ok && res.type === "basic") await c.put(key, res.clone());
      return res;
    } catch (err) {
      const hit = await c.match(key);
      if (hit) return hit;
      throw err;
    }
  })());
});
