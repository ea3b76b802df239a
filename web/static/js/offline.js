// Edits that survive a dropped connection.
//
// Every change a person makes to a board's content (the board's name,
// columns, cards, comments, checklists) goes through a ChangeQueue: it is
// written to IndexedDB (per user and board, so a reload or a closed tab
// loses nothing) and sent one at a time, in the order it was made, with the
// Idempotency-Key and X-Op-Id chosen when it was queued. While the board is
// not live (offline, reconnecting, or catching up with the events it
// missed) nothing is sent: changes wait, shown as pending on the board with
// a count of how many are waiting. Once the board has caught up, the queue
// drains, paced under the server's per-user request budget, so each change
// applies on top of what others did meanwhile.
//
// An answer decides an entry's fate:
//   - 2xx: applied. A create answers with the real id, which replaces the
//     temporary id in every later queued change (a card created offline and
//     then renamed offline).
//   - no answer (network error), 5xx, 409 idempotency_in_progress: the
//     request may or may not have applied; it is sent again later with the
//     same Idempotency-Key, which the server answers with the first result,
//     so it never applies twice.
//   - 429 or 503: sent again after Retry-After.
//   - 401: the session ended; the queue stops and keeps everything.
//   - any other 4xx (412 stale version, 404 deleted, 403 access lost, 409,
//     422): refused. A refused change that had waited is listed under "Not
//     applied" with the server's reason and the person's text (with a copy
//     button) until dismissed; later queued changes that depend on a refused
//     create (they name its temporary id) are refused with it.
//
// ChangeQueue is plain logic over a store and a transmit function, so it is
// tested in Node (web/offline_test.go); OfflineChanges wires it to the board
// page, IndexedDB and the DOM.

import { h } from "./dom.js";
import { ApiError, setInterceptor } from "./api.js";
import { between, compareRank } from "./rank.js";
import { announce } from "./ui.js";

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

// --- the board page's side ---------------------------------------------

// transmit sends one queued change as the page's API client would, with
// the key and op id it was queued with, and reports the answer.
async function transmit(e) {
  const headers = { Accept: "application/json", "X-Op-Id": e.opId, "Idempotency-Key": e.opId };
  let body;
  if (e.body !== undefined && e.body !== null) { headers["Content-Type"] = "application/json"; body = JSON.stringify(e.body); }
  if (e.ifMatch) headers["If-Match"] = `"${e.ifMatch}"`;
  let res;
  try {
    res = await fetch(e.path, { method: e.method, headers, body, credentials: "same-origin", cache: "no-store" });
  } catch {
    return { status: 0 };
  }
  let data = null;
  const text = await res.text().catch(() => null);
  if (text === null) return { status: 0 }; // the answer was cut off
  if (text && (res.headers.get("Content-Type") || "").includes("json")) { try { data = JSON.parse(text); } catch { data = null; } }
  const etag = res.headers.get("ETag");
  const ra = Number(res.headers.get("Retry-After"));
  return { status: res.status, data, etag: etag ? Number(etag.replace(/^W\//, "").replaceAll('"', "")) : null, retryAfter: ra > 0 ? ra : 0 };
}

// overlay builds the board's optimistic view of a queued change that no
// page op shows (the page was reloaded), from the request alone.
function overlay(page, e) {
  const m = page.model;
  const p = e.path.replace(`/api/boards/${page.boardId}`, "").split("?")[0];
  const b = e.body || {};
  const seg = p.split("/");
  const op = { id: e.opId, cards: [], columns: [], includedIn: () => true };
  const cardRank = (colId, pos) => {
    const list = [...m.cards.values()].filter((c) => c.column_id === colId && !c.archived).sort(compareRank);
    const ref = pos && (pos.after || pos.before) && m.cards.get(pos.after || pos.before);
    if (ref) {
      const i = list.findIndex((c) => c.id === ref.id);
      return pos.after ? between(ref.rank, (list[i + 1] || {}).rank || "") : between((list[i - 1] || {}).rank || "", ref.rank);
    }
    if (pos && pos.to === "top") return between("", (list[0] || {}).rank || "");
    return between((list[list.length - 1] || {}).rank || "", "");
  };
  const colRank = (pos) => {
    const list = [...m.columns.values()].sort(compareRank);
    const ref = pos && (pos.after || pos.before) && m.columns.get(pos.after || pos.before);
    if (ref) {
      const i = list.findIndex((c) => c.id === ref.id);
      return pos.after ? between(ref.rank, (list[i + 1] || {}).rank || "") : between((list[i - 1] || {}).rank || "", ref.rank);
    }
    if (pos && pos.to === "top") return between("", (list[0] || {}).rank || "");
    return between((list[list.length - 1] || {}).rank || "", "");
  };
  if (p === "" && e.method === "PATCH") {
    op.board = true;
    op.boardFn = (x) => x && { ...x, ...b };
  } else if (p === "/cards" && e.method === "POST" && e.temp) {
    const rank = cardRank(b.column_id, b.position);
    op.cards = [e.temp];
    op.card = () => ({ id: e.temp, board_id: page.boardId, column_id: b.column_id, title: b.title, description: b.description || "",
      labels: b.labels || [], due: b.due || null, assignees: b.assignees || [], done: !!b.done, rank, archived: false, version: 0, _temp: true });
  } else if (seg[1] === "cards" && seg.length === 3) {
    op.cards = [seg[2]];
    op.card = e.method === "DELETE" ? () => null : (_, c) => c && { ...c, ...b };
  } else if (seg[1] === "cards" && seg[3] === "move") {
    const rank = cardRank(b.column_id, b.position);
    op.cards = [seg[2]];
    op.card = (_, c) => c && { ...c, column_id: b.column_id || c.column_id, rank };
  } else if (seg[1] === "cards" && (seg[3] === "archive" || seg[3] === "unarchive")) {
    op.cards = [seg[2]];
    op.card = (_, c) => c && { ...c, archived: seg[3] === "archive" };
  } else if (seg[1] === "cards" && seg[2]) {
    op.cards = [seg[2]]; // a comment or checklist change: the card shows it is pending
    op.card = (_, c) => c;
  } else if (p === "/columns" && e.method === "POST" && e.temp) {
    const rank = colRank(b.position);
    op.columns = [e.temp];
    op.column = () => ({ id: e.temp, board_id: page.boardId, name: b.name, rank, version: 0, _temp: true });
  } else if (seg[1] === "columns" && seg.length === 3) {
    op.columns = [seg[2]];
    if (e.method === "DELETE") {
      const q = new URLSearchParams(e.path.split("?")[1] || "");
      op.cards = [...m.cards.values()].filter((c) => c.column_id === seg[2]).map((c) => c.id);
      op.column = () => null;
      op.card = (_, c) => (q.get("cards") === "move" && q.get("to") ? c && { ...c, column_id: q.get("to") } : null);
    } else op.column = (_, c) => c && { ...c, ...b };
  } else if (seg[1] === "columns" && seg[3] === "move") {
    const rank = colRank(b.position);
    op.columns = [seg[2]];
    op.column = (_, c) => c && { ...c, rank };
  } else return null;
  return op;
}

// OfflineChanges is the board page's queue: it takes the page's changes
// from the API client, shows what waits and what was refused, and drains
// when the board is live and caught up.
export class OfflineChanges {
  constructor(page, { store } = {}) {
    this.page = page;
    this.owner = `${page.ctx.me.id}/${page.boardId}`;
    this.target = null; // the head seq of the last subscription
    this.live = false;
    let st = store;
    if (!st) {
      try { st = typeof indexedDB !== "undefined" ? new IdbStore() : new MemoryStore(); } catch { st = new MemoryStore(); }
    }
    this.queue = new ChangeQueue({
      store: st, owner: this.owner,
      transmit: (e) => {
        // For the tests: the board's seq when the first change went out.
        if (this.queue.stats.firstSentAtSeq === undefined) this.queue.stats.firstSentAtSeq = page.model.seq;
        return transmit(e);
      },
      onChange: () => this.render(),
      onSent: (e, res) => this.sent(e, res),
      onRefused: (row) => { announce(`Not applied: ${row.label}. ${row.reason}`); this.render(); },
      onDrop: (e) => this.dropRestored(e),
      onGone: (e) => { if (this.restoredOps.delete(e.opId)) this.page.model.ackOp(e.opId, null); },
      onMap: (temp, id, created) => this.mapped(temp, id, created),
      onAuthLost: () => window.dispatchEvent(new CustomEvent("corkboard:unauthenticated")),
    });
    this.restoredOps = new Set();
    this.build();
    this.queue.loaded.then(() => this.restore());
    this.intercept = (method, path, opts) => this.take(method, path, opts);
    setInterceptor(this.intercept);
    this.onOnline = () => this.check();
    window.addEventListener("online", this.onOnline);
  }

  destroy() {
    setInterceptor(null, this.intercept);
    window.removeEventListener("online", this.onOnline);
    this.destroyed = true;
    this.queue.setReady(false);
  }

  // take queues a change of this board's content; others (members,
  // webhooks, deleting the board, other boards) go out as before.
  take(method, path, opts) {
    if (this.destroyed) return null;
    const base = `/api/boards/${this.page.boardId}`;
    const rest = path.startsWith(base) ? path.slice(base.length) : null;
    if (rest === null || !(rest === "" ? method === "PATCH" : /^\/(cards|columns)(\/|\?|$)/.test(rest))) return null;
    // Only JSON changes: an upload (a file body) needs the connection.
    if (opts.raw !== undefined || /\/attachments(\/|\?|$)/.test(rest)) return null;
    if (opts.body !== undefined && (typeof opts.body !== "object" || (typeof Blob !== "undefined" && opts.body instanceof Blob) ||
      (typeof FormData !== "undefined" && opts.body instanceof FormData))) return null;
    const opId = opts.opId || `web-q-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
    const op = this.page.model.ops.find((o) => o.id === opId);
    const body = opts.body;
    const card = /^\/cards\/([^/?]+)/.exec(rest); // a comment or checklist change shows on its card
    const col = /^\/columns\/([^/?]+)/.exec(rest);
    const m = this.page.model;
    const named = card ? m.cards.get(card[1]) || m.card(card[1]) : col ? m.columns.get(col[1]) || m.column(col[1]) : null;
    const subject = named ? named.title ?? named.name : null; // which card or column, for the person
    const { done } = this.queue.add({ method, path, body, ifMatch: opts.ifMatch, opId, temp: opts.temp, subject,
      cards: op ? op.cards : card ? [card[1]] : [], columns: op ? op.columns : [] });
    return done;
  }

  // restore lays the stored changes no page op shows over the board.
  restore() {
    if (this.destroyed) return;
    let any = false;
    for (const e of this.queue.entries) {
      if (!e.restored || this.page.model.ops.some((o) => o.id === e.opId)) continue;
      const op = overlay(this.page, e);
      if (!op) continue;
      e.cards = op.cards;
      e.columns = op.columns;
      this.restoredOps.add(op.id);
      this.page.applyChange(this.page.model.addOp(op));
      any = true;
    }
    if (any) this.render();
  }

  sent(e, res) {
    if (!this.restoredOps.has(e.opId)) return; // the page's op takes its answer itself
    this.restoredOps.delete(e.opId);
    this.page.model.ackOp(e.opId, res.data);
  }

  mapped(temp, id, created) {
    // The page's pending changes of a created card or column now name it;
    // the create's own op keeps showing the temporary one until its event
    // confirms it (then both the temporary node and the op go).
    for (const op of this.page.model.ops) {
      if (op.id === created.opId) continue;
      if (op.cards) op.cards = op.cards.map((x) => (x === temp ? id : x));
      if (op.columns) op.columns = op.columns.map((x) => (x === temp ? id : x));
    }
  }

  // connState follows the live connection; subscribed and afterRender
  // follow the catch-up: the queue drains once the board is live and has
  // applied every event up to the subscription's head.
  connState(state) {
    const live = state === "live" && !this.page.gone;
    if (live === this.live) return;
    this.live = live;
    if (!live) this.target = null;
    this.check();
  }

  subscribed(seq) {
    this.target = seq;
    this.check();
  }

  afterRender() {
    this.check();
    this.mark();
  }

  // boardGone: the board was deleted or the person lost access to it. The
  // changes still waiting are sent anyway, so that each is refused and
  // listed with its text rather than kept unseen.
  boardGone() {
    this.gone = true;
    this.check();
  }

  check() {
    const p = this.page;
    if (this.gone) { this.queue.setReady(!this.destroyed && navigator.onLine !== false); return; }
    const ready = this.live && !this.destroyed && !p.gone && !p.loading && p.loaded && this.target !== null && p.model.seq >= this.target;
    this.queue.setReady(ready);
  }

  // dropRestored takes a refused change's overlay off the board (a
  // page op is rolled back by the page itself).
  dropRestored(e) {
    if (this.restoredOps.has(e.opId)) {
      this.restoredOps.delete(e.opId);
      this.page.applyChange(this.page.model.dropOp(e.opId));
    }
  }

  // --- what the person sees ---

  build() {
    // Not a live region: a drain of hundreds would be read out one by one.
    // announce() says when they are all sent, and when one is refused.
    this.pill = h("span", { class: "queue-pill", hidden: true });
    this.page.connEl.after(this.pill);
    this.list = h("ul", { class: "refused-list" });
    this.heading = h("h2", { class: "refused-head" });
    this.panel = h("section", { class: "refused", "aria-label": "Changes not applied", hidden: true }, this.heading,
      h("p", { class: "muted small", text: "The server refused these changes when they were sent. What you typed is kept here: copy it before you dismiss it." }),
      this.list);
    this.page.board.appendChild(this.panel);
  }

  render() {
    if (this.destroyed) return;
    const q = this.queue;
    const n = q.waiting;
    if (n === 0 && this.hadWaited) announce("All your changes were sent.");
    this.hadWaited = q.entries.some((e) => e.waited);
    this.pill.hidden = n === 0;
    const text = `${n} change${n === 1 ? "" : "s"} waiting to be sent`;
    if (this.pill.textContent !== text) this.pill.textContent = text;
    this.pill.dataset.count = String(n);
    this.pill.title = q.ready ? "Sending your changes in the order you made them" : "Your changes are kept on this device and sent when the board is live again";
    this.mark();
    const rows = q.refused;
    this.panel.hidden = rows.length === 0;
    this.heading.textContent = `Not applied (${rows.length})`;
    const have = new Set([...this.list.children].map((li) => li.dataset.n));
    if (rows.length !== have.size || rows.some((r) => !have.has(String(r.n)))) {
      this.list.replaceChildren(...rows.map((r) => this.refusedItem(r)));
    }
  }

  refusedItem(r) {
    const text = h("textarea", { class: "input refused-text", readonly: true, rows: "2", "aria-label": `Your text for: ${r.label}` });
    text.value = r.text || "";
    const copy = h("button", { type: "button", class: "btn btn-sm", text: "Copy", on: { click: async () => {
      try { await navigator.clipboard.writeText(text.value); } catch { text.select(); document.execCommand && document.execCommand("copy"); }
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    } } });
    const dismiss = h("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Dismiss", on: { click: () => this.queue.dismiss(r.n) } });
    return h("li", { class: "refused-item", "data-n": String(r.n), "data-status": String(r.status) },
      h("strong", { class: "refused-label", text: r.label }),
      h("span", { class: "refused-reason", text: `Not applied: ${r.reason}${r.status ? ` (${r.status})` : ""}` }),
      r.text ? text : null,
      h("div", { class: "row" }, r.text ? copy : null, dismiss));
  }

  // mark shows which cards and columns have changes waiting.
  mark() {
    const cards = new Set(), cols = new Set();
    for (const e of this.queue.entries) {
      for (const id of e.cards || []) cards.add(id);
      for (const id of e.columns || []) cols.add(id);
    }
    for (const [id, entry] of this.page.cardEls) {
      const on = cards.has(id);
      if (entry.el.classList.contains("is-queued") !== on) {
        entry.el.classList.toggle("is-queued", on);
        if (on) entry.el.title = "Waiting to be sent"; else entry.el.removeAttribute("title");
      }
    }
    for (const [id, entry] of this.page.cols) entry.el.classList.toggle("is-queued", cols.has(id));
  }
}

