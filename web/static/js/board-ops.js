// The board page's changes, made optimistically: each is laid over the
// board at once, sent, and rolled back with a message saying why if the
// server refuses it. Mixed into BoardPage (board.js); `this` is the page.

import { api, describe, newOpId } from "./api.js";
import { between, compareRank } from "./rank.js";
import { toast, announce, confirmDialog, modal } from "./ui.js";
import { h } from "./dom.js";

export const boardOps = {
  resultVersion(op) { return (op && op.result && op.result.version) || 0; },

  // runOp lays op over the board at once, sends it, and rolls it back with
  // a message saying why if the server refuses it. It resolves to the
  // server's answer or rejects with its error (after the rollback).
  runOp(op, send, failTitle, { quiet } = {}) {
    op.id = newOpId();
    op.cards ||= [];
    op.columns ||= [];
    if (!op.includedIn) op.includedIn = () => true;
    this.applyChange(this.model.addOp(op));
    return send(op.id).then((res) => {
      this.model.ackOp(op.id, res.data);
      return res;
    }, (err) => {
      if (this.model.pending(op.id)) this.applyChange(this.model.dropOp(op.id));
      if (!(quiet && quiet(err))) toast(describe(err), "error", failTitle);
      throw err;
    }).finally(() => {
      const e = op.cards.length === 1 && this.cardEls.get(op.cards[0]);
      if (e) e.el.classList.toggle("is-pending", this.model.cardPending(op.cards[0]));
    });
  },

  cardVersionCheck(id, op) {
    return (m) => !m.cards.has(id) || m.cards.get(id).version >= this.resultVersion(op);
  },

  createCard(colId, title) {
    const arr = this.model.cardsIn(colId);
    const last = arr[arr.length - 1];
    const tmp = "tmp-" + Math.random().toString(36).slice(2);
    const rank = between(last ? last.rank : "", "");
    const op = {
      cards: [tmp],
      card: () => ({ id: tmp, board_id: this.boardId, column_id: colId, title, description: "", labels: [], due: null,
        assignees: [], done: false, rank, archived: false, version: 0, _temp: true }),
    };
    op.includedIn = (m) => !!(op.result && m.cards.has(op.result.id));
    this.runOp(op, (opId) => api.createCard(this.boardId, { column_id: colId, title, position: { to: "bottom" } }, opId, tmp),
      "Could not add the card").catch(() => {});
    // A card added at the bottom of a long column is shown, not left below the fold.
    const added = this.cardEls.get(tmp);
    if (added) added.el.scrollIntoView({ block: "nearest", inline: "nearest" });
    announce(`Added card ${title}`);
    if (!this.filter.matches(op.card())) toast("The filter hides it: clear the filter to see it.", "info", `Added “${title}”`);
  },

  patchCard(id, patch, message, opts = {}) {
    const op = { cards: [id], card: (_, c) => c && { ...c, ...patch } };
    op.includedIn = this.cardVersionCheck(id, op);
    const p = this.runOp(op, (opId) => api.updateCard(this.boardId, id, patch, opId, opts.ifMatch), "Could not save the card", opts);
    p.catch(() => {}); // the rollback and the message are done; callers may await p for the outcome
    if (message) announce(message);
    return p;
  },

  // moveCard moves a card to index (among the column's visible cards,
  // without the card itself) of column colId; Infinity is the bottom.
  moveCard(id, colId, index) {
    const c = this.model.card(id);
    if (!c) return;
    const list = this.shownIn(colId).filter((x) => x.id !== id);
    index = Math.max(0, Math.min(index, list.length));
    const prev = list[index - 1], next = list[index];
    if (c.column_id === colId) {
      const cur = this.shownIn(colId);
      const at = cur.findIndex((x) => x.id === id);
      if (at === index) return; // already there
    }
    let position;
    if (prev && !prev._temp) position = { after: prev.id };
    else if (next && !next._temp) position = { before: next.id };
    else position = { to: prev ? "bottom" : "top" };
    const rank = between(prev ? prev.rank : "", next ? next.rank : "");
    const op = { cards: [id], card: (_, x) => x && { ...x, column_id: colId, rank } };
    op.includedIn = this.cardVersionCheck(id, op);
    this.runOp(op, (opId) => api.moveCard(this.boardId, id, { column_id: colId, position }, opId), "Could not move the card").catch(() => {});
    const col = this.model.column(colId);
    announce(`Moved ${c.title} to ${col ? col.name : "column"}, position ${index + 1} of ${list.length + 1}`);
  },

  moveCardBy(id, dy) {
    const c = this.model.card(id);
    const cur = this.shownIn(c.column_id);
    const at = cur.findIndex((x) => x.id === id);
    const to = at + dy;
    if (to < 0 || to >= cur.length) return;
    this.moveCard(id, c.column_id, to);
  },

  moveCardAcross(id, dx) {
    const c = this.model.card(id);
    const cols = this.model.columnList().filter((x) => !x._temp);
    const ci = cols.findIndex((x) => x.id === c.column_id);
    const target = cols[ci + dx];
    if (!target) return;
    const at = this.shownIn(c.column_id).findIndex((x) => x.id === id);
    this.moveCard(id, target.id, at);
  },

  archiveCard(id, archived) {
    const c = this.model.card(id);
    if (!c) return;
    const op = { cards: [id], card: (_, x) => x && { ...x, archived } };
    op.includedIn = this.cardVersionCheck(id, op);
    this.runOp(op, (opId) => api.archiveCard(this.boardId, id, archived, opId), archived ? "Could not archive the card" : "Could not restore the card").catch(() => {});
    if (archived) {
      const t = toast(`Archived “${c.title}”`, "info");
      const undo = h("button", { type: "button", class: "toast-action", text: "Undo", on: { click: () => { t.remove(); this.archiveCard(id, false); } } });
      t.querySelector(".toast-body").appendChild(undo);
    } else announce(`Restored ${c.title}`);
  },

  async deleteCard(id, skipConfirm = false) {
    const c = this.model.card(id);
    if (!c) return;
    if (!skipConfirm && !(await confirmDialog("Delete card?", `“${c.title}” will be deleted for everyone. Archive it instead to keep it.`, "Delete card"))) return;
    const op = { cards: [id], card: () => null, includedIn: (m) => !m.cards.has(id) };
    this.runOp(op, (opId) => api.deleteCard(this.boardId, id, opId), "Could not delete the card").catch(() => {});
    announce(`Deleted ${c.title}`);
  },

  createColumn(name) {
    const cols = this.model.columnList();
    const last = cols[cols.length - 1];
    const tmp = "tmp-" + Math.random().toString(36).slice(2);
    const rank = between(last ? last.rank : "", "");
    const op = { columns: [tmp], column: () => ({ id: tmp, board_id: this.boardId, name, rank, version: 0, _temp: true }) };
    op.includedIn = (m) => !!(op.result && m.columns.has(op.result.id));
    this.runOp(op, (opId) => api.createColumn(this.boardId, { name, position: { to: "bottom" } }, opId, tmp), "Could not add the column").catch(() => {});
    requestAnimationFrame(() => { this.scroller.scrollLeft = this.scroller.scrollWidth; });
  },

  moveColumnBy(id, d) {
    const cols = this.model.columnList();
    const at = cols.findIndex((x) => x.id === id);
    const to = at + d;
    if (at < 0 || to < 0 || to >= cols.length || !this.canEdit()) return;
    const rest = cols.filter((x) => x.id !== id);
    const prev = rest[to - 1], next = rest[to];
    let position;
    if (prev && !prev._temp) position = { after: prev.id };
    else if (next && !next._temp) position = { before: next.id };
    else position = { to: "top" };
    const rank = between(prev ? prev.rank : "", next ? next.rank : "");
    const op = { columns: [id], column: (_, c) => c && { ...c, rank } };
    op.includedIn = (m) => !m.columns.has(id) || m.columns.get(id).version >= this.resultVersion(op);
    this.runOp(op, (opId) => api.moveColumn(this.boardId, id, position, opId), "Could not move the column").catch(() => {});
    announce(`Moved column ${cols[at].name} to position ${to + 1} of ${cols.length}`);
  },

  async deleteColumn(id) {
    const col = this.model.column(id);
    if (!col) return;
    const cards = [...this.model.allCardIds()].map((cid) => this.model.card(cid)).filter((c) => c && c.column_id === id);
    const others = this.model.columnList().filter((c) => c.id !== id && !c._temp);
    let mode = "", to = "";
    if (cards.length) {
      const select = h("select", { class: "input", "aria-label": "Move the cards to" },
        others.map((o) => h("option", { value: o.id, text: o.name })));
      const body = h("div", {},
        h("p", { text: `“${col.name}” has ${cards.length} card${cards.length === 1 ? "" : "s"}. What should happen to ${cards.length === 1 ? "it" : "them"}?` }),
        others.length ? h("label", { class: "field" }, h("span", { text: "Move them to" }), select) : null);
      const buttons = [{ label: "Cancel", value: "cancel" }];
      if (others.length) buttons.push({ label: "Move cards and delete", value: "move", kind: "primary", autofocus: true });
      buttons.push({ label: "Delete with cards", value: "delete", kind: "danger" });
      const v = await modal({ title: "Delete column?", body, buttons });
      if (!v) return;
      mode = v;
      if (v === "move") to = select.value;
    } else if (!(await confirmDialog("Delete column?", `The empty column “${col.name}” will be deleted.`, "Delete column"))) return;
    let rank = "";
    if (mode === "move") {
      const t = this.model.cardsIn(to);
      rank = t.length ? t[t.length - 1].rank : "";
    }
    const moved = new Map();
    for (const c of cards.sort(compareRank)) { rank = between(rank, ""); moved.set(c.id, rank); }
    const op = {
      columns: [id], cards: cards.map((c) => c.id),
      column: () => null,
      card: (cid, c) => (mode === "move" ? c && { ...c, column_id: to, rank: moved.get(cid) } : null),
      includedIn: (m) => !m.columns.has(id),
    };
    this.runOp(op, (opId) => api.deleteColumn(this.boardId, id, mode, to, opId), "Could not delete the column").catch(() => {});
  },

  async deleteBoard() {
    const b = this.model.board();
    if (!(await confirmDialog("Delete board?", `“${b.name}” and all its columns and cards will be deleted for everyone. This cannot be undone.`, "Delete board"))) return;
    try {
      await api.deleteBoard(this.boardId, newOpId());
      toast(`Deleted “${b.name}”`);
      this.ctx.navigate("/");
    } catch (ex) { toast(describe(ex), "error", "Could not delete the board"); }
  }
};
