// The board page: columns side by side, cards in rank order, kept live.
//
// State lives in a BoardModel (confirmed snapshot + events, with pending
// optimistic ops on top). Every change names the entities it touched and
// only their nodes are updated: a card's node is patched in place and moved
// only when its column or rank changed, so a board of thousands of cards
// costs the same per event as a small one.

import { h, icon, avatar, clear } from "./dom.js";
import { api, describe } from "./api.js";
import { BoardModel, emptyChange, mergeChange } from "./model.js";
import { LiveConnection } from "./live.js";
import { indexOfId, searchIndex } from "./rank.js";
import { toast, announce, showMenu, closeMenu } from "./ui.js";
import { cardFromURL, loadMute, hostUserStream } from "./notifications.js";
import { topbar } from "./pages.js";
import { CardDialog } from "./card-dialog.js";
import { DragController } from "./drag.js";
import { buildCardFace, fillCardFace } from "./card-face.js";
import { ActivityPanel, notePrev } from "./activity.js";
import { OfflineChanges } from "./offline.js";
import { FilterBar } from "./filter.js";
import { boardEdits } from "./board-edit.js";
import { boardOps } from "./board-ops.js";
import { boardMenus } from "./board-menus.js";

export class BoardPage {
  constructor(root, boardId, ctx) {
    this.root = root;
    this.boardId = boardId;
    this.ctx = ctx;
    this.model = new BoardModel(ctx.me);
    this.cols = new Map();    // column id → {el, list, nameEl, countEl, composer…}
    this.colOrder = [];       // [{id, rank}] in board order
    this.cardEls = new Map(); // card id → {el, titleEl, metaEl, checkEl, moreEl, colId, rank, editing}
    this.colCards = new Map(); // column id → [{id, rank}] visible cards in order
    this.loading = false;
    this.loaded = false;
    this.buffered = [];
    this.stats = { applies: 0, totalMs: 0, maxMs: 0 };
    this.destroyed = false;
    this.pendingChange = null;
    this.presence = { users: [], count: 0 };
    this.dialog = null;
    this.membersDialog = null;
    this.tick = null;
    this.build();
    this.live = new LiveConnection({
      onFrame: (f) => this.onFrame(f),
      onOpen: () => { this.userStream.open(); this.subscribe(); },
      onState: (s) => this.renderConn(s),
      onAuthLost: () => this.checkAuth(),
    });
    this.userStream = hostUserStream(this.live); // the header's notifications ride on this connection
    this.offline = new OfflineChanges(this); // changes queue while the board is not live
    window.__corkboard = {
      page: this,
      get seq() { return this.page.model.seq; },
      get applied() { return this.page.model.applied.slice(); },
      get conn() { return this.page.live.state; },
      get pending() { return this.page.model.ops.length; },
      get stats() { return { ...this.page.stats }; },
      get queue() { return this.page.offline.queue; },
    };
  }

  // --- life cycle -----------------------------------------------------

  async start() {
    this.renderConn("connecting");
    try {
      const res = await api.snapshot(this.boardId);
      if (this.destroyed) return;
      this.applyChange(this.model.load(res.data));
      this.loaded = true;
      this.board.classList.remove("is-loading");
      this.filter.onLoaded();
      this.scroller.scrollLeft = 0;
      this.live.start();
      loadMute(this.boardId);
      const want = cardFromURL(); // a notification's link
      if (want && this.model.cards.has(want)) this.openCard(want);
    } catch (ex) {
      if (this.destroyed) return;
      // Unreachable: the board as last seen here, live once the server is back.
      const kept = ex.status === 0 && (await this.offline.lastState());
      if (kept && !this.destroyed) {
        this.applyChange(this.model.load(kept));
        this.loaded = true;
        this.board.classList.remove("is-loading");
        this.live.start();
        return;
      }
      this.showGone(ex.status === 404 ? "This board does not exist, or you are not a member of it." : describe(ex));
    }
  }

  destroy() {
    this.destroyed = true;
    this.live.stop();
    this.userStream.release();
    this.offline.destroy();
    clearInterval(this.tick);
    closeMenu();
    this.dialog && this.dialog.close();
    this.membersDialog && this.membersDialog.close();
    this.drag && this.drag.destroy();
    this.filter && this.filter.destroy();
    document.removeEventListener("keydown", this.onGlobalKey);
    if (window.__corkboard && window.__corkboard.page === this) delete window.__corkboard;
  }

  subscribe() {
    if (!this.loaded || this.loading) return;
    this.live.send({ type: "subscribe", board: this.boardId, since: this.model.seq });
  }

  async checkAuth() {
    try { await api.me(); } catch (ex) { if (ex.status === 401) this.ctx.sessionEnded(); }
  }

  // resync reloads the snapshot in place; what the person is typing (the
  // composer, an inline editor, the card dialog) is left as it is.
  async resync(reason) {
    if (this.loading || this.destroyed) return;
    this.loading = true;
    this.buffered = [];
    this.board.classList.add("is-syncing");
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await api.snapshot(this.boardId);
          if (this.destroyed) return;
          this.applyChange(this.model.load(res.data));
          break;
        } catch (ex) {
          if (ex.status === 404) { this.showGone("This board was deleted, or you no longer have access to it."); return; }
          if (attempt >= 5 || this.destroyed) throw ex;
          await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
        }
      }
    } catch (ex) {
      toast(describe(ex), "error", "Could not reload the board");
    } finally {
      this.loading = false;
      this.board.classList.remove("is-syncing");
    }
    if (this.gone) return;
    // Events that arrived while the snapshot loaded: those after it apply now.
    const later = this.buffered.filter((e) => e.seq > this.model.seq).sort((a, b) => a.seq - b.seq);
    this.buffered = [];
    for (const e of later) if (e.seq === this.model.seq + 1) this.onEvent(e);
    if (reason !== "gap") announce("The board was reloaded.");
    this.subscribe();
  }

  // --- frames -----------------------------------------------------------

  onFrame(f) {
    if (this.destroyed) return;
    if (this.userStream.frame(f)) return;
    if (f.board && f.board !== this.boardId) return;
    switch (f.type) {
      case "event": return this.onEvent(f);
      case "subscribed": return void this.offline.subscribed(f.seq);
      case "resync": return void this.resync(f.reason);
      case "presence": this.presence = { users: f.users || [], count: f.count || 0 }; return this.renderPresence();
      case "unsubscribed":
        if (f.id || !f.reason) return; // the answer to our own unsubscribe
        if (f.reason === "board deleted") return this.showGone("This board was deleted.");
        return this.showGone(f.reason ? `You can no longer see this board: ${f.reason}.` : "You can no longer see this board.");
      case "error":
        if (f.code === "not_found") return this.showGone("This board was deleted, or you no longer have access to it.");
        if (f.code === "conflict") return; // already subscribed (a race with a reconnect): harmless
        if (f.code === "invalid" && /since/.test(f.message || "")) return void this.resync("invalid since");
        return void toast(f.message || f.code, "error", "Live updates");
      default:
        return;
    }
  }

  onEvent(e) {
    if (this.loading) { this.buffered.push(e); return; } // applied after the snapshot, if it is newer
    if (e.seq <= this.model.seq) return; // already applied
    if (e.seq !== this.model.seq + 1) {
      // A gap cannot happen with this server; recover anyway.
      this.live.send({ type: "unsubscribe", board: this.boardId, id: "gap" });
      this.resync("gap");
      return;
    }
    notePrev(this, e); // what the activity says needs the state before the event
    const { change } = this.model.apply(e);
    if (this.dialog) this.dialog.onEvent(e);
    if (this.activity) this.activity.onEvent(e);
    this.filter.onEvent(e);
    if (change.boardDeleted) {
      this.showGone(e.actor === this.ctx.me.id ? "You deleted this board." : "This board was deleted by its owner.");
      return;
    }
    if (e.kind === "member.removed" && e.data && e.data.user_id === this.ctx.me.id) {
      this.showGone("You were removed from this board.");
      return;
    }
    this.pendingChange = mergeChange(this.pendingChange || emptyChange(), change);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        const c = this.pendingChange;
        this.pendingChange = null;
        if (c && !this.destroyed) this.applyChange(c);
      });
    }
  }

  showGone(message) {
    if (this.gone) return;
    this.gone = true;
    this.offline.boardGone();
    this.live.stop();
    this.userStream.release(this.ctx.me);
    clearInterval(this.tick);
    this.renderConn("offline");
    this.dialog && this.dialog.close();
    const note = h("div", { class: "gone", role: "alert" },
      h("h2", { text: "Board unavailable" }), h("p", { text: message }),
      h("a", { href: "/", class: "btn btn-primary", "data-nav": "", text: "Back to your boards" }));
    clear(this.scroller).appendChild(note);
  }

  // --- building the page ----------------------------------------------

  build() {
    this.nameEl = h("h1", { class: "board-name", tabindex: "0", title: "Rename board", text: "…" });
    this.nameEl.addEventListener("click", () => this.renameBoard());
    this.nameEl.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === "F2") { e.preventDefault(); this.renameBoard(); } });
    // A viewer sees why nothing can be changed.
    this.viewOnlyEl = h("span", { class: "view-only", hidden: true, title: "You are a viewer of this board: you can see it but not change it" },
      icon("eye"), h("span", { text: "View only" }));
    this.presenceEl = h("div", { class: "presence", role: "group", "aria-label": "People on this board" });
    this.connText = h("span", { class: "conn-text", text: "Connecting…" });
    this.connRetry = h("button", { type: "button", class: "conn-retry", hidden: true, text: "Retry now", on: { click: () => this.live.reconnectNow() } });
    this.connEl = h("div", { class: "conn", "data-conn": "connecting", role: "status", "aria-live": "polite" },
      h("span", { class: "conn-dot", "aria-hidden": "true" }), this.connText, this.connRetry);
    const share = h("button", { type: "button", class: "btn btn-ghost btn-share", on: { click: () => this.openMembers() } },
      icon("users"), h("span", { class: "hide-sm", text: "Share" }));
    const more = h("button", { type: "button", class: "icon-btn", "aria-label": "Board actions", "aria-haspopup": "menu" }, icon("more"));
    more.addEventListener("click", () => showMenu(more, this.boardMenu(), "Board actions"));
    this.skip = h("a", { href: "#cards", class: "skip-link", text: "Skip to cards" });
    this.skip.addEventListener("click", (e) => { e.preventDefault(); this.focusFirstCard(); });

    this.columnsEl = h("div", { class: "columns", id: "cards", "aria-label": "Columns" });
    this.addColumnEl = this.buildAddColumn();
    this.columnsEl.appendChild(this.addColumnEl);
    this.scroller = h("main", { class: "board-scroller" }, this.columnsEl);
    this.filter = new FilterBar(this);
    this.board = h("div", { class: "page board-page is-loading" },
      this.skip,
      topbar(this.ctx,
        [h("a", { href: "/", "data-nav": "", class: "icon-btn back-btn", "aria-label": "Back to your boards" }, icon("back")), this.nameEl, this.viewOnlyEl],
        [this.presenceEl, this.connEl, share, more]),
      this.filter.el,
      this.scroller);
    this.activity = new ActivityPanel(this);
    this.board.appendChild(this.activity.el);
    clear(this.root).appendChild(this.board);

    // One listener of each kind for the whole board.
    this.columnsEl.addEventListener("click", (e) => this.onClick(e));
    this.columnsEl.addEventListener("keydown", (e) => this.onKey(e));
    this.drag = new DragController(this);
    this.onGlobalKey = (e) => {
      if (e.key === "/" && !e.target.closest("input, textarea, [contenteditable]") && !document.querySelector("dialog[open]")) {
        e.preventDefault();
        this.focusFirstCard();
      }
    };
    document.addEventListener("keydown", this.onGlobalKey);
    this.tick = setInterval(() => this.renderConn(this.live.state), 1000);
  }

  canEdit() { return this.model.myRole() !== "viewer"; }

  buildAddColumn() {
    const btn = h("button", { type: "button", class: "add-column-btn" }, icon("plus"), h("span", { text: "Add column" }));
    const input = h("input", { class: "add-column-input", placeholder: "Column name", maxlength: "200", "aria-label": "New column name" });
    const form = h("form", { class: "add-column-form", hidden: true }, input,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "btn btn-primary btn-sm", text: "Add column" }),
        h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Cancel", on: { click: () => close() } })));
    const wrap = h("div", { class: "add-column" }, btn, form);
    const close = () => { form.hidden = true; btn.hidden = false; input.value = ""; };
    btn.addEventListener("click", () => { btn.hidden = true; form.hidden = false; input.focus(); });
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") { close(); btn.focus(); } });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      input.value = "";
      this.createColumn(name);
    });
    return wrap;
  }

  // --- rendering ------------------------------------------------------

  applyChange(change) {
    const t0 = performance.now();
    this.render(change);
    const dt = performance.now() - t0;
    if (this.offline) this.offline.afterRender();
    this.stats.applies += 1;
    this.stats.totalMs += dt;
    if (dt > this.stats.maxMs) this.stats.maxMs = dt;
  }

  render(change) {
    if (change.board || change.members) this.renderBoard();
    if (change.members) this.renderPresence();
    const touchedCols = new Set();
    for (const id of change.columns) this.renderColumn(id, touchedCols);
    for (const id of change.cards) this.renderCard(id, touchedCols);
    if (change.reset) {
      // Drop nodes of anything the new snapshot no longer has.
      for (const id of [...this.cardEls.keys()]) if (!change.cards.has(id)) this.renderCard(id, touchedCols);
      for (const id of [...this.cols.keys()]) if (!change.columns.has(id)) this.renderColumn(id, touchedCols);
    }
    for (const id of touchedCols) this.renderCount(id);
    if (this.dialog) this.dialog.update(change);
    if (this.activity && change.reset && this.activity.loaded) this.activity.reload();
    if (this.membersDialog && change.members) this.membersDialog.render();
    if (this.labelsDialog && (change.labels || change.reset || change.cards.size)) this.labelsDialog.render(change);
    if (change.columns.size || change.reset) this.board.classList.toggle("is-empty", this.cols.size === 0);
    if (change.cards.size || change.reset) this.filter.sync();
  }

  // refilter places every card again after the filter changed (filter.js).
  refilter() {
    const touched = new Set();
    for (const id of new Set([...this.model.cards.keys(), ...this.cardEls.keys()])) this.renderCard(id, touched);
    for (const id of touched) this.renderCount(id);
    this.filter.sync();
  }

  // shownIn is the cards of a column the filter shows, in order: moves name
  // these as neighbours, so they land where the person sees them go.
  shownIn(colId) { return this.model.cardsIn(colId).filter((c) => this.filter.matches(c)); }

  renderBoard() {
    const b = this.model.board();
    if (!b) return;
    if (!this.nameEl.querySelector("input")) this.nameEl.textContent = b.name;
    document.title = `${b.name} · Corkboard`;
    this.board.classList.toggle("readonly", !this.canEdit());
    this.viewOnlyEl.hidden = this.canEdit();
  }

  renderConn(state) {
    if (this.offline) this.offline.connState(state);
    const el = this.connEl;
    el.dataset.conn = state;
    let text = "Live";
    if (state === "connecting") text = "Connecting…";
    else if (state === "reconnecting") {
      const s = Math.max(0, Math.ceil((this.live.retryAt - Date.now()) / 1000));
      text = s > 0 ? `Reconnecting in ${s}s` : "Reconnecting…";
    } else if (state === "offline") text = this.gone ? "Not connected" : "Offline";
    if (this.connText.textContent !== text) this.connText.textContent = text;
    // Who is here is only known while live.
    this.presenceEl.classList.toggle("is-stale", state !== "live");
    this.connRetry.hidden = state !== "reconnecting" || this.gone;
    el.title = state === "live" ? "Changes appear as they happen" :
      state === "offline" ? "No network: changes from others will appear when you are back online" :
        "The live connection dropped: nothing will be missed when it is back";
  }

  renderPresence() {
    const users = this.presence.users.filter((u) => u !== this.ctx.me.id);
    const others = Math.max(0, this.presence.count - (this.presence.users.includes(this.ctx.me.id) ? 1 : 0));
    const names = users.map((u) => this.model.memberName(u));
    const shown = names.slice(0, 4);
    const nodes = shown.map((n) => avatar(n, "avatar-sm presence-avatar"));
    if (others > shown.length) nodes.push(h("span", { class: "avatar avatar-sm more", text: `+${others - shown.length}` }));
    this.presenceEl.replaceChildren(...nodes);
    this.presenceEl.dataset.count = String(others);
    this.presenceEl.title = others ? `Also here: ${names.join(", ")}${others > names.length ? " and others" : ""}` : "Nobody else is here";
    this.presenceEl.setAttribute("aria-label", others ? `${others} other ${others === 1 ? "person" : "people"} here: ${names.join(", ")}` : "Nobody else is here");
  }

  renderColumn(id, touched) {
    const c = this.model.column(id);
    let entry = this.cols.get(id);
    if (!c) {
      if (!entry) return;
      // The cards still shown in it are placed anew (moved or removed).
      const ids = (this.colCards.get(id) || []).map((x) => x.id);
      entry.el.remove();
      this.cols.delete(id);
      this.colCards.delete(id);
      const i = indexOfId(this.colOrder, id);
      if (i >= 0) this.colOrder.splice(i, 1);
      for (const cid of ids) {
        const ce = this.cardEls.get(cid);
        if (ce) ce.colId = null;
        this.renderCard(cid, touched);
      }
      return;
    }
    if (!entry) {
      entry = this.buildColumn(c);
      this.cols.set(id, entry);
      this.colCards.set(id, []);
    }
    entry.el.classList.toggle("is-pending", this.model.columnPending(id) && c._temp === true);
    if (!entry.renaming && entry.nameEl.textContent !== c.name) entry.nameEl.textContent = c.name;
    entry.el.setAttribute("aria-label", `Column ${c.name}`);
    entry.moreEl.setAttribute("aria-label", `Actions for column ${c.name}`);
    entry.addBtn.disabled = !!c._temp;
    // Place it.
    if (entry.rank !== c.rank || !entry.placed) {
      if (entry.placed) { const i = indexOfId(this.colOrder, id, entry.rank); if (i >= 0) this.colOrder.splice(i, 1); }
      const item = { id, rank: c.rank };
      const i = searchIndex(this.colOrder, item);
      this.colOrder.splice(i, 0, item);
      const next = this.colOrder[i + 1];
      const nextEl = next ? this.cols.get(next.id).el : this.addColumnEl;
      if (entry.el.nextSibling !== nextEl || entry.el.parentNode !== this.columnsEl) {
        const focused = entry.el.contains(document.activeElement) ? document.activeElement : null;
        this.columnsEl.insertBefore(entry.el, nextEl);
        focused && focused.focus({ preventScroll: false });
      }
      entry.rank = c.rank;
      entry.placed = true;
    }
    touched.add(id);
  }

  buildColumn(c) {
    const nameEl = h("h2", { class: "column-name", tabindex: "0", title: "Rename column (Enter); move with Alt+←/→" });
    const countEl = h("span", { class: "column-count", "aria-label": "cards" });
    const moreEl = h("button", { type: "button", class: "icon-btn column-more", "aria-haspopup": "menu" }, icon("more"));
    const list = h("div", { class: "cards", role: "list" });
    const addBtn = h("button", { type: "button", class: "add-card-btn" }, icon("plus"), h("span", { text: "Add a card" }));
    const el = h("section", { class: "column", "data-id": c.id },
      h("header", { class: "column-head" }, nameEl, countEl, moreEl),
      list,
      h("footer", { class: "column-foot" }, addBtn));
    const entry = { el, list, nameEl, countEl, moreEl, addBtn, composer: null, rank: null, placed: false, renaming: false };
    addBtn.addEventListener("click", () => this.openComposer(c.id));
    moreEl.addEventListener("click", () => showMenu(moreEl, this.columnMenu(c.id), "Column actions"));
    nameEl.addEventListener("click", () => this.renameColumn(c.id));
    nameEl.addEventListener("keydown", (e) => {
      if ((e.altKey || e.ctrlKey) && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
        e.preventDefault();
        e.stopPropagation();
        this.moveColumnBy(c.id, e.key === "ArrowLeft" ? -1 : 1);
      } else if (e.key === "Enter" || e.key === "F2") { e.preventDefault(); e.stopPropagation(); this.renameColumn(c.id); }
    });
    return entry;
  }

  renderCount(colId) {
    const entry = this.cols.get(colId);
    if (!entry) return;
    const n = (this.colCards.get(colId) || []).length;
    const t = String(n);
    if (entry.countEl.textContent !== t) entry.countEl.textContent = t;
    entry.el.classList.toggle("is-empty", n === 0);
  }

  renderCard(id, touched) {
    const c = this.model.card(id);
    let entry = this.cardEls.get(id);
    const visible = c && !c.archived && this.cols.has(c.column_id) && this.filter.matches(c);
    if (!visible) {
      if (entry) {
        if (entry.colId) {
          const arr = this.colCards.get(entry.colId);
          if (arr) { const i = indexOfId(arr, id, entry.rank); if (i >= 0) arr.splice(i, 1); }
          touched.add(entry.colId);
        }
        const hadFocus = entry.el.contains(document.activeElement);
        const next = hadFocus ? (entry.el.nextElementSibling || entry.el.previousElementSibling) : null;
        entry.el.remove();
        this.cardEls.delete(id);
        if (hadFocus && next && next.classList.contains("card")) next.focus();
      }
      return;
    }
    if (!entry) {
      entry = this.buildCard(id);
      this.cardEls.set(id, entry);
    }
    this.fillCard(entry, c);
    // Place it when its column or rank changed.
    if (entry.colId !== c.column_id || entry.rank !== c.rank) {
      if (entry.colId) {
        const old = this.colCards.get(entry.colId);
        if (old) { const i = indexOfId(old, id, entry.rank); if (i >= 0) old.splice(i, 1); }
        touched.add(entry.colId);
      }
      const arr = this.colCards.get(c.column_id);
      const item = { id, rank: c.rank };
      const i = searchIndex(arr, item);
      arr.splice(i, 0, item);
      const list = this.cols.get(c.column_id).list;
      const next = arr[i + 1];
      const nextEl = next ? this.cardEls.get(next.id).el : null;
      if (entry.el.parentNode !== list || entry.el.nextSibling !== nextEl) {
        const focused = entry.el.contains(document.activeElement) ? document.activeElement : null;
        list.insertBefore(entry.el, nextEl);
        if (focused) { focused.focus({ preventScroll: true }); entry.el.scrollIntoView({ block: "nearest", inline: "nearest" }); }
      }
      entry.colId = c.column_id;
      entry.rank = c.rank;
      touched.add(c.column_id);
    }
  }

  buildCard(id) { return buildCardFace(id); }

  fillCard(entry, c) { fillCardFace(entry, c, this.model, this.model.cardPending(c.id)); }

  // --- interaction ------------------------------------------------------

  cardIdOf(el) {
    const card = el && el.closest && el.closest(".card");
    return card ? card.dataset.id : null;
  }

  onClick(e) {
    if (this.drag.justDropped) return;
    const id = this.cardIdOf(e.target);
    if (!id) return;
    const c = this.model.card(id);
    if (!c) return;
    if (e.target.closest(".card-check")) {
      if (this.canEdit()) this.patchCard(id, { done: !c.done }, c.done ? "Marked not done" : "Marked done");
      return;
    }
    if (e.target.closest(".card-more")) {
      const btn = e.target.closest(".card-more");
      showMenu(btn, this.cardMenu(id), "Card actions");
      return;
    }
    const entry = this.cardEls.get(id);
    if (entry && entry.editing) return;
    if (!c._temp) this.openCard(id);
  }

  onKey(e) {
    const cardEl = e.target.closest && e.target.closest(".card");
    if (!cardEl || e.target !== cardEl) return;
    const id = cardEl.dataset.id;
    const c = this.model.card(id);
    if (!c) return;
    const mod = e.altKey || e.ctrlKey || e.metaKey;
    const arrows = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
    if (arrows[e.key]) {
      e.preventDefault();
      const [dx, dy] = arrows[e.key];
      if (mod) {
        if (!this.canEdit()) return;
        if (dy) this.moveCardBy(id, dy); else this.moveCardAcross(id, dx);
      } else {
        this.focusNeighbour(id, dx, dy);
      }
      return;
    }
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); if (!c._temp) this.openCard(id); return; }
    if (e.key === "F2" || e.key === "e") { e.preventDefault(); if (this.canEdit()) this.editTitleInline(id); return; }
    if (e.key === "Home" || e.key === "End") {
      e.preventDefault();
      const arr = this.colCards.get(c.column_id) || [];
      const target = e.key === "Home" ? arr[0] : arr[arr.length - 1];
      if (mod && this.canEdit()) this.moveCard(id, c.column_id, e.key === "Home" ? 0 : Infinity);
      else if (target) this.cardEls.get(target.id).el.focus();
      return;
    }
    if (e.key === "m" || e.key === "ContextMenu") { e.preventDefault(); showMenu(this.cardEls.get(id).moreEl, this.cardMenu(id), "Card actions"); }
  }

  focusFirstCard() {
    for (const col of this.colOrder) {
      const arr = this.colCards.get(col.id);
      if (arr && arr.length) { this.cardEls.get(arr[0].id).el.focus(); return; }
    }
    const first = this.colOrder[0];
    if (first) this.cols.get(first.id).addBtn.focus();
  }

  focusNeighbour(id, dx, dy) {
    const entry = this.cardEls.get(id);
    const arr = this.colCards.get(entry.colId);
    const i = indexOfId(arr, id, entry.rank);
    if (dy) {
      const t = arr[i + dy];
      if (t) this.cardEls.get(t.id).el.focus();
      return;
    }
    let ci = indexOfId(this.colOrder, entry.colId);
    for (ci += dx; ci >= 0 && ci < this.colOrder.length; ci += dx) {
      const other = this.colCards.get(this.colOrder[ci].id);
      if (other.length) { this.cardEls.get(other[Math.min(i, other.length - 1)].id).el.focus(); return; }
    }
  }

  openCard(id) {
    if (this.dialog) this.dialog.close();
    this.dialog = new CardDialog(this, id, () => {
      this.dialog = null;
      const e = this.cardEls.get(id);
      if (e && document.contains(e.el)) e.el.focus({ preventScroll: true });
    });
  }
}

Object.assign(BoardPage.prototype, boardEdits, boardOps, boardMenus);
