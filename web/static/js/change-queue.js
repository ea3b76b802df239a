// The queue of one person's changes to one board, as plain logic over a
// store (IndexedDB in the page, memory in tests) and a transmit function:
// kept in order, sent one at a time while ready, paced, retried with the
// same key when the answer is unknown, temporary ids mapped to real ones,
// refusals kept with the person's text. offline.js wires it to the board
// page; web/offline_test.go runs it in Node (testdata/offline-queue.mjs).

import { ApiError } from "./api.js";

// The server allows each user 100 requests at once and then 50 a second
// (per instance; internal/httpapi Options.RateBurst and Rate). A drain takes
// at most 30 a second after a burst of 20, leaving room for the page's other
// requests and the person's other tabs.
export const DRAIN_RATE = 30;
export const DRAIN_BURST = 20;

const RETRY_BACKOFF = [500, 1000, 2000, 4000, 8000, 15000];

// MemoryStore keeps rows in memory (for tests, and when IndexedDB is not
// available: the queue then lasts as long as the page).
export class MemoryStore {
  constructor() { this.rows = new Map(); }
  async all(owner, kind) {
    return [...this.rows.values()].filter((r) => r.owner === owner && r.kind === kind)
      .sort((a, b) => a.n - b.n).map((r) => structuredClone(r));
  }
  async put(row) { this.rows.set(row.n, structuredClone(row)); }
  async delete(n) { this.rows.delete(n); }
  async has(n) { return this.rows.has(n); }
}

// IdbStore keeps rows in IndexedDB: one object store keyed by n, with an
// index on [owner, kind]. Writes are issued in call order on one
// connection, so they land in that order.
export class IdbStore {
  constructor(name = "corkboard-offline") {
    this.db = new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => {
        const s = req.result.createObjectStore("rows", { keyPath: "n" });
        s.createIndex("owner_kind", ["owner", "kind"]);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("the offline queue's database is blocked by another tab"));
    });
  }

  async tx(mode, fn) {
    const db = await this.db;
    return new Promise((resolve, reject) => {
      const t = db.transaction("rows", mode);
      let out;
      const r = fn(t.objectStore("rows"));
      if (r) r.onsuccess = () => { out = r.result; };
      t.oncomplete = () => resolve(out);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("transaction aborted"));
    });
  }

  async all(owner, kind) {
    const rows = await this.tx("readonly", (s) => s.index("owner_kind").getAll([owner, kind]));
    return (rows || []).sort((a, b) => a.n - b.n);
  }
  put(row) { return this.tx("readwrite", (s) => s.put(row)); }
  delete(n) { return this.tx("readwrite", (s) => s.delete(n)); }
  async has(n) { return (await this.tx("readonly", (s) => s.count(n))) > 0; }
}

// mentions reports whether a change names id: as a path segment, or as a
// string value anywhere in its body.
export function mentions(entry, id) {
  if (entry.path.split(/[/?&=]/).includes(id)) return true;
  const walk = (v) => {
    if (typeof v === "string") return v === id;
    if (Array.isArray(v)) return v.some(walk);
    if (v && typeof v === "object") return Object.values(v).some(walk);
    return false;
  };
  return walk(entry.body);
}

function replaceId(entry, from, to) {
  entry.path = entry.path.split("/").map((seg) => {
    const [p, q] = seg.split("?");
    const fix = (x) => (x === from ? to : x);
    return q === undefined ? fix(p) : fix(p) + "?" + q.split("&").map((kv) => { const [k, v] = kv.split("="); return v === undefined ? kv : `${k}=${fix(v)}`; }).join("&");
  }).join("/");
  const walk = (v) => {
    if (typeof v === "string") return v === from ? to : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  entry.body = walk(entry.body);
  entry.cards = (entry.cards || []).map((x) => (x === from ? to : x));
  entry.columns = (entry.columns || []).map((x) => (x === from ? to : x));
}

// describeChange names a queued change for a person, and picks the text
// they typed in it (kept for copying when it is refused).
export function describeChange(method, path, body) {
  const p = path.replace(/^\/api\/boards\/[^/]+/, "").split("?")[0];
  const b = body || {};
  const text = b.title ?? b.name ?? b.description ?? b.text ?? "";
  const q = (s) => `“${s}”`;
  let label = `${method} ${p || "/"}`;
  if (p === "" && method === "PATCH") label = b.name ? `Rename the board to ${q(b.name)}` : "Change the board";
  else if (p === "/cards" && method === "POST") label = `Add card ${q(b.title || "")}`;
  else if (/^\/cards\/[^/]+$/.test(p)) {
    if (method === "DELETE") label = "Delete a card";
    else {
      const f = Object.keys(b);
      label = b.title !== undefined ? `Rename a card to ${q(b.title)}` : b.description !== undefined ? "Edit a card's description"
        : f.length === 1 && f[0] === "done" ? (b.done ? "Mark a card done" : "Mark a card not done") : `Change a card (${f.join(", ")})`;
    }
  } else if (/^\/cards\/[^/]+\/move$/.test(p)) label = "Move a card";
  else if (/^\/cards\/[^/]+\/archive$/.test(p)) label = "Archive a card";
  else if (/^\/cards\/[^/]+\/unarchive$/.test(p)) label = "Restore a card";
  else if (p === "/columns" && method === "POST") label = `Add column ${q(b.name || "")}`;
  else if (/^\/columns\/[^/]+$/.test(p)) label = method === "DELETE" ? "Delete a column" : b.name ? `Rename a column to ${q(b.name)}` : "Change a column";
  else if (/^\/columns\/[^/]+\/move$/.test(p)) label = "Move a column";
  else if (/\/comments$/.test(p)) label = "Comment on a card";
  else if (/\/comments\/[^/]+$/.test(p)) label = method === "DELETE" ? "Delete a comment" : "Edit a comment";
  else if (/\/checklists$/.test(p)) label = `Add checklist ${q(b.name || "")}`;
  else if (/\/checklists\/[^/]+$/.test(p)) label = method === "DELETE" ? "Delete a checklist" : `Rename a checklist to ${q(b.name || "")}`;
  else if (/\/items$/.test(p)) label = `Add checklist item ${q(b.text || "")}`;
  else if (/\/items\/[^/]+\/move$/.test(p)) label = "Move a checklist item";
  else if (/\/items\/[^/]+$/.test(p)) label = method === "DELETE" ? "Delete a checklist item" : b.text !== undefined ? `Edit a checklist item to ${q(b.text)}` : (b.done ? "Tick a checklist item" : "Untick a checklist item");
  return { label, text: typeof text === "string" ? text : JSON.stringify(text) };
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

// ChangeQueue holds one user's changes to one board, oldest first, and
// sends them one at a time while ready. Options: store (MemoryStore or
// IdbStore), owner ("user/board"), transmit(entry) → {status, data, etag,
// retryAfter} (status 0: no answer), and callbacks onChange(), onSent(entry,
// res), onRefused(row), onMap(temp, id), onAuthLost(). now and sleep may be
// replaced (tests).
export class ChangeQueue {
  constructor(o) {
    this.store = o.store;
    this.owner = o.owner;
    this.transmit = o.transmit;
    this.now = o.now || (() => Date.now());
    this.sleep = o.sleep || sleepMs;
    this.rate = o.rate || DRAIN_RATE;
    this.burst = o.burst || DRAIN_BURST;
    this.cb = o;
    this.entries = [];
    this.refused = [];
    this.waiters = new Map(); // n → {resolve, reject}
    this.ready = false;
    this.draining = null;
    this.failures = 0;
    this.lastN = 0;
    this.tokens = this.burst;
    this.tokensAt = this.now();
    this.sending = null; // the entry whose request is out
    this.stats = { sent: 0, retries: 0, waits429: 0, refused: 0 };
    this.loaded = this.load();
  }

  async load() {
    let stored = [], refused = [];
    try {
      [stored, refused] = await Promise.all([this.store.all(this.owner, "change"), this.store.all(this.owner, "refused")]);
    } catch (err) {
      console.warn("offline queue: could not read the stored changes", err);
    }
    for (const r of [...stored, ...refused]) this.lastN = Math.max(this.lastN, r.n);
    this.isLoaded = true;
    // Changes queued before the store answered come after the stored ones.
    const fresh = this.entries;
    for (const e of fresh) {
      if (e.n <= this.lastN) {
        const w = this.waiters.get(e.n);
        this.waiters.delete(e.n);
        e.n = ++this.lastN;
        if (w) this.waiters.set(e.n, w);
      }
      this.persist(e);
    }
    // A stored change was made before this page: it waited, whatever it was.
    this.entries = [...stored.map((e) => ({ ...e, restored: true, waited: true })), ...fresh];
    this.refused = refused;
    this.changed();
    return stored;
  }

  nextN() {
    this.lastN = Math.max(this.lastN + 1, this.now() * 1000);
    return this.lastN;
  }

  persist(e) {
    if (!this.isLoaded) return; // written by load
    const { restored, ...row } = e;
    this.store.put(row).catch((err) => console.warn("offline queue: could not store a change", err));
  }

  changed() { this.cb.onChange && this.cb.onChange(); }

  // add queues a request: {method, path, body, ifMatch, opId, temp,
  // cards, columns}. It returns the entry and a promise of the answer
  // (resolves on success, rejects with ApiError when refused).
  add(req) {
    let { label, text } = describeChange(req.method, req.path, req.body);
    if (req.subject) label += ` (“${req.subject}”)`;
    const e = {
      n: this.nextN(), owner: this.owner, kind: "change", opId: req.opId, method: req.method, path: req.path,
      body: req.body, ifMatch: req.ifMatch || null, temp: req.temp || null, cards: req.cards || [], columns: req.columns || [],
      at: this.now(), label, text, waited: !this.ready,
    };
    this.entries.push(e);
    this.persist(e);
    const done = new Promise((resolve, reject) => this.waiters.set(e.n, { resolve, reject }));
    this.changed();
    this.kick();
    return { entry: e, done };
  }

  // setReady says whether the board is live and caught up.
  setReady(ready) {
    if (this.authLost) ready = false; // until the page is opened again, logged in
    if (this.ready === ready) return;
    this.ready = ready;
    if (!ready) for (const e of this.entries) e.waited = true;
    this.changed();
    this.kick();
  }

  kick() {
    if (!this.ready || this.draining || !this.entries.length) return;
    // One tab of a user's board drains at a time (Web Locks, where there are).
    const locks = typeof navigator !== "undefined" && navigator.locks;
    const run = locks ? locks.request(`corkboard-queue:${this.owner}`, () => this.drain()) : this.drain();
    this.draining = run.finally(() => { this.draining = null; this.kick(); });
  }

  // pace takes a token of the drain's bucket, waiting for one if needed.
  async pace() {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) * this.rate) / 1000);
      this.tokensAt = now;
      if (this.tokens >= 1) { this.tokens -= 1; return; }
      await this.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.rate));
    }
  }

  async drain() {
    await this.loaded;
    while (this.ready && this.entries.length) {
      await this.pace();
      if (!this.ready) return;
      const e = this.entries[0];
      if (e.restored && !(await this.store.has(e.n).catch(() => true))) {
        // Another tab of this board read it too, and has sent it since.
        this.entries.shift();
        this.cb.onGone && this.cb.onGone(e);
        this.changed();
        continue;
      }
      let res;
      this.sending = e;
      try { res = await this.transmit(e); } catch { res = { status: 0 }; }
      this.sending = null;
      if (this.entries[0] !== e) continue; // refused meanwhile (dismissed with the board gone)
      const code = (res.data && res.data.code) || "";
      if (res.status === 0 || res.status >= 500 || res.status === 429 || (res.status === 409 && code === "idempotency_in_progress")) {
        // Not applied, or not known to be: send it again, with the same key.
        e.waited = true;
        this.stats.retries += 1;
        let wait;
        if ((res.status === 429 || res.status === 503) && res.retryAfter) {
          if (res.status === 429) this.stats.waits429 += 1;
          wait = res.retryAfter * 1000;
        } else {
          wait = RETRY_BACKOFF[Math.min(this.failures, RETRY_BACKOFF.length - 1)];
          this.failures += 1;
        }
        this.changed();
        await this.sleep(wait);
        continue;
      }
      if (res.status === 401) {
        this.ready = false;
        this.authLost = true;
        this.cb.onAuthLost && this.cb.onAuthLost();
        return;
      }
      this.failures = 0;
      if (res.status >= 200 && res.status < 300) {
        if (e.temp && res.data && res.data.id) this.mapTemp(e, res.data.id);
        this.remove(e);
        this.stats.sent += 1;
        const w = this.waiters.get(e.n);
        this.waiters.delete(e.n);
        this.cb.onSent && this.cb.onSent(e, res);
        w && w.resolve({ status: res.status, data: res.data, etag: res.etag ?? null });
      } else {
        this.refuse(e, res.status, res.data, null);
      }
      this.changed();
    }
  }

  remove(e) {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    this.store.delete(e.n).catch((err) => console.warn("offline queue: could not remove a change", err));
  }

  // mapTemp gives every later change that names a temporary id the real one.
  mapTemp(created, id) {
    const temp = created.temp;
    for (const x of this.entries) {
      if (x === created || !mentions(x, temp)) continue;
      replaceId(x, temp, id);
      this.persist(x);
    }
    this.cb.onMap && this.cb.onMap(temp, id, created);
  }

  // refuse takes e off the queue as not applied; changes that depend on
  // what it would have created go with it.
  refuse(e, status, problem, because) {
    this.remove(e);
    this.cb.onDrop && this.cb.onDrop(e);
    this.stats.refused += 1;
    const p = problem || {};
    const reason = because || p.detail || p.title || `refused (${status})`;
    const w = this.waiters.get(e.n);
    this.waiters.delete(e.n);
    if (e.waited || because) {
      const row = { ...e, kind: "refused", status, code: p.code || "", reason, refusedAt: this.now() };
      delete row.restored;
      this.refused.push(row);
      this.store.put(row).catch((err) => console.warn("offline queue: could not store a refused change", err));
      this.cb.onRefused && this.cb.onRefused(row);
    }
    if (w) w.reject(new ApiError(status, because ? { detail: because, code: "dependency_refused" } : problem));
    if (e.temp) {
      for (const x of [...this.entries]) {
        if (x !== e && mentions(x, e.temp)) this.refuse(x, status, null, `it depends on “${e.label}”, which was not applied: ${reason}`);
      }
    }
  }

  dismiss(n) {
    const i = this.refused.findIndex((r) => r.n === n);
    if (i < 0) return;
    this.refused.splice(i, 1);
    this.store.delete(n).catch(() => {});
    this.changed();
  }

  // waiting is the number of changes not yet answered.
  get waiting() { return this.entries.length; }
}

