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
// ChangeQueue (change-queue.js) is the logic, tested in Node
// (web/offline_test.go); OfflineChanges wires it to the board page,
// IndexedDB and the DOM.

import { h } from "./dom.js";
import { setInterceptor } from "./api.js";
import { between, compareRank } from "./rank.js";
import { announce } from "./ui.js";
import { ChangeQueue, IdbStore, MemoryStore } from "./change-queue.js";

// rememberMe keeps who is logged in (id and username), so that a board
// can be opened while the server is unreachable; null forgets it.
export function rememberMe(me) {
  try {
    if (me) localStorage.setItem("corkboard:me", JSON.stringify({ id: me.id, username: me.username }));
    else localStorage.removeItem("corkboard:me");
  } catch { /* storage unavailable: no offline opening */ }
}

// forgetBoards deletes what the browser keeps for working offline (the
// boards as last seen and the changes waiting): on an explicit log-out, so
// that the next person at this browser finds nothing of them.
export function forgetBoards() {
  try { if (typeof indexedDB !== "undefined") indexedDB.deleteDatabase("corkboard-offline"); } catch { /* nothing kept */ }
}

export function rememberedMe() {
  try { return JSON.parse(localStorage.getItem("corkboard:me") || "null"); } catch { return null; }
}

// keepPage registers the service worker that keeps the page's files, so
// that a board can be opened again while the server is unreachable, and
// hands it the files this page loaded before it was in control.
function keepPage() {
  if (typeof navigator === "undefined" || !navigator.serviceWorker) return;
  navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready).then((reg) => {
    const keep = ["/", location.pathname, ...performance.getEntriesByType("resource").map((x) => x.name)];
    reg.active && reg.active.postMessage({ keep });
  }).catch((err) => console.warn("the page cannot be kept for offline use", err));
}

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
    this.onHide = () => this.saveState();
    window.addEventListener("pagehide", this.onHide);
    keepPage();
  }

  destroy() {
    setInterceptor(null, this.intercept);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("pagehide", this.onHide);
    this.saveState();
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

  // restore lays the stored changes no page op shows over the board, once
  // the board's snapshot is in (their places are worked out from it).
  restore() {
    if (this.destroyed) return;
    if (!this.page.loaded) { this.wantRestore = true; return; }
    this.wantRestore = false;
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
    if (live === this.live) { if (this.wantRestore) this.check(); return; }
    if (this.live && !live) this.saveState(); // as it was when the connection dropped
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

  // saveState keeps the board as last confirmed (the snapshot with every
  // event since applied), for opening it while the server is unreachable.
  saveState() {
    const m = this.page.model;
    if (!this.page.loaded || this.page.gone || !m.boardData) return;
    const data = { board: m.boardData, seq: m.seq, columns: [...m.columns.values()], cards: [...m.cards.values()], members: [...m.members.values()] };
    this.queue.store.put({ n: `state:${this.owner}`, owner: this.owner, kind: "state", data })
      .catch((err) => console.warn("offline: could not keep the board", err));
  }

  // lastState is the board as last kept, or null.
  async lastState() {
    try {
      const rows = await this.queue.store.all(this.owner, "state");
      return rows.length ? rows[0].data : null;
    } catch { return null; }
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
    if (this.wantRestore && p.loaded) this.restore();
    if (this.gone) { this.queue.setReady(!this.destroyed && navigator.onLine !== false); return; }
    const ready = this.live && !this.destroyed && !p.gone && !p.loading && p.loaded && this.target !== null && p.model.seq >= this.target;
    if (ready && !this.queue.ready) this.saveState(); // caught up
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

