// The board as the page knows it: the confirmed state (the last snapshot
// with every event after it applied in seq order, exactly as the server's
// board.Snapshot.Apply does) and, on top of it, the person's own changes that
// are still pending (optimistic). Every read goes through the view, which is
// the confirmed entity with the pending changes laid over it. Each change
// reports which entities it touched, so the page updates only their nodes.

import { compareRank } from "./rank.js";

export function emptyChange() {
  return { cards: new Set(), columns: new Set(), board: false, members: false, labels: false, boardDeleted: false, reset: false };
}

export function mergeChange(into, c) {
  for (const id of c.cards) into.cards.add(id);
  for (const id of c.columns) into.columns.add(id);
  into.board ||= c.board;
  into.members ||= c.members;
  into.labels ||= c.labels;
  into.boardDeleted ||= c.boardDeleted;
  into.reset ||= c.reset;
  return into;
}

export class BoardModel {
  constructor(me) {
    this.me = me; // {id, username}
    this.boardData = null;
    this.seq = 0;
    this.columns = new Map();
    this.cards = new Map();
    this.members = new Map(); // user id → member
    this.labels = new Map(); // label id → label (the board's labels; cards hold their ids)
    this.ops = []; // pending ops, oldest first
    this.applied = []; // seqs applied since load (for tests and diagnostics)
  }

  // load replaces the confirmed state with a snapshot. Pending ops the
  // snapshot already includes are dropped; the others stay on top.
  load(snap) {
    const change = emptyChange();
    change.reset = true;
    change.board = change.members = change.labels = true;
    for (const id of this.cards.keys()) change.cards.add(id);
    for (const id of this.columns.keys()) change.columns.add(id);
    this.boardData = snap.board;
    this.seq = snap.seq;
    this.columns = new Map(snap.columns.map((c) => [c.id, c]));
    this.cards = new Map(snap.cards.map((c) => [c.id, c]));
    this.members = new Map((snap.members || []).map((m) => [m.user_id, m]));
    this.labels = new Map((snap.labels || []).map((l) => [l.id, l]));
    for (const id of this.cards.keys()) change.cards.add(id);
    for (const id of this.columns.keys()) change.columns.add(id);
    const keep = [];
    for (const op of this.ops) {
      if (op.acked && op.includedIn(this)) this.touch(op, change);
      else keep.push(op);
    }
    this.ops = keep;
    for (const op of this.ops) this.touch(op, change);
    return change;
  }

  // apply applies the next event. It returns the change, and the pending op
  // the event confirms (if any), which is no longer pending.
  apply(e) {
    if (e.seq !== this.seq + 1) throw new Error(`event ${e.seq} is not the next after ${this.seq}`);
    const change = emptyChange();
    const d = e.data || {};
    switch (e.kind) {
      case "board.created":
      case "board.updated":
        this.boardData = d;
        change.board = true;
        if (e.kind === "board.created") {
          this.members = new Map([[d.owner_id, { user_id: d.owner_id, username: d.owner_username, role: "owner", added_at: d.created_at }]]);
          change.members = true;
        }
        break;
      case "board.deleted":
        change.boardDeleted = true;
        break;
      case "column.created":
      case "column.updated":
      case "column.moved":
        this.columns.set(d.id, d);
        change.columns.add(d.id);
        break;
      case "column.deleted":
        this.columns.delete(d.id);
        change.columns.add(d.id);
        for (const id of d.deleted || []) { this.cards.delete(id); change.cards.add(id); }
        for (const c of d.moved || []) { this.cards.set(c.id, c); change.cards.add(c.id); }
        break;
      case "card.created":
      case "card.updated":
      case "card.moved":
      case "card.archived":
      case "card.unarchived":
        this.cards.set(d.id, d);
        change.cards.add(d.id);
        break;
      case "card.deleted":
        this.cards.delete(d.id);
        change.cards.add(d.id);
        break;
      case "cards.respaced":
      case "columns.respaced": {
        // Fresh ranks for every card of a column (every column of the
        // board), in the same order; nothing else changes.
        const items = e.kind === "cards.respaced" ? this.cards : this.columns;
        const touched = e.kind === "cards.respaced" ? change.cards : change.columns;
        for (const r of d.ranks || []) {
          const x = items.get(r.id);
          if (x) { items.set(r.id, { ...x, rank: r.rank }); touched.add(r.id); }
        }
        break;
      }
      case "comment.created":
      case "comment.updated":
      case "comment.deleted":
      case "checklist.created":
      case "checklist.updated":
      case "checklist.deleted":
      case "checklist_item.created":
      case "checklist_item.updated":
      case "checklist_item.moved":
      case "checklist_item.deleted":
      case "attachment.created":
      case "attachment.deleted": {
        // The snapshot holds a card's counts, not its comments and
        // checklists: an open card dialog follows those itself.
        const n = d.card || {};
        const c = this.cards.get(n.id);
        if (c) {
          this.cards.set(n.id, { ...c, comment_count: n.comment_count, checklist_done: n.checklist_done, checklist_total: n.checklist_total,
            attachment_count: n.attachment_count ?? c.attachment_count, cover: n.cover === undefined ? c.cover : n.cover });
          change.cards.add(n.id);
        }
        break;
      }
      case "label.created":
      case "label.updated":
        // Cards hold label ids: every card with the label shows the change.
        this.labels.set(d.id, d);
        change.labels = true;
        for (const c of this.cards.values()) if ((c.labels || []).includes(d.id)) change.cards.add(c.id);
        break;
      case "label.deleted":
        // The label leaves every card that had it in this one event; the
        // cards' versions do not change.
        this.labels.delete(d.id);
        change.labels = true;
        for (const id of d.cards || []) {
          const c = this.cards.get(id);
          if (c) { this.cards.set(id, { ...c, labels: (c.labels || []).filter((x) => x !== d.id) }); change.cards.add(id); }
        }
        break;
      case "member.added":
      case "member.updated":
        this.members.set(d.user_id, d);
        change.members = true;
        break;
      case "member.removed":
        this.members.delete(d.user_id);
        change.members = true;
        break;
      default:
        // A kind this page does not know changes nothing it shows.
        break;
    }
    this.seq = e.seq;
    this.applied.push({ seq: e.seq, kind: e.kind });
    if (this.applied.length > 5000) this.applied.splice(0, 1000);
    let confirmed = null;
    if (e.op_id && (!e.actor || !this.me || e.actor === this.me.id || e.actor === this.me.username)) {
      const i = this.ops.findIndex((op) => op.id === e.op_id);
      if (i >= 0) {
        confirmed = this.ops[i];
        this.ops.splice(i, 1);
        this.touch(confirmed, change);
      }
    }
    return { change, confirmed };
  }

  touch(op, change) {
    for (const id of op.cards || []) change.cards.add(id);
    for (const id of op.columns || []) change.columns.add(id);
    if (op.board) change.board = true;
  }

  // addOp lays a pending change over the confirmed state.
  addOp(op) {
    op.acked = false;
    this.ops.push(op);
    const change = emptyChange();
    this.touch(op, change);
    return change;
  }

  // ackOp records the server's success answer; the op stays on top until
  // its event arrives.
  ackOp(id, result) {
    const op = this.ops.find((o) => o.id === id);
    if (op) { op.acked = true; op.result = result; }
    return op;
  }

  // dropOp removes a pending op (the server refused it): the view rolls
  // back to the confirmed state.
  dropOp(id) {
    const change = emptyChange();
    const i = this.ops.findIndex((o) => o.id === id);
    if (i >= 0) {
      this.touch(this.ops[i], change);
      this.ops.splice(i, 1);
    }
    return change;
  }

  pending(id) { return this.ops.some((o) => o.id === id); }

  // View reads.
  board() {
    let b = this.boardData;
    for (const op of this.ops) if (op.board && op.boardFn) b = op.boardFn(b);
    return b;
  }

  card(id) {
    let c = this.cards.get(id) || null;
    for (const op of this.ops) if (op.card && op.cards.includes(id)) c = op.card(id, c);
    return c;
  }

  column(id) {
    let c = this.columns.get(id) || null;
    for (const op of this.ops) if (op.column && op.columns.includes(id)) c = op.column(id, c);
    return c;
  }

  // cardPending reports whether a pending op touches the card.
  cardPending(id) { return this.ops.some((o) => o.cards && o.cards.includes(id)); }
  columnPending(id) { return this.ops.some((o) => o.columns && o.columns.includes(id)); }

  // columnList is the visible columns in board order.
  columnList() {
    const ids = new Set(this.columns.keys());
    for (const op of this.ops) for (const id of op.columns || []) ids.add(id);
    const out = [];
    for (const id of ids) { const c = this.column(id); if (c) out.push(c); }
    return out.sort(compareRank);
  }

  // cardsIn is the visible (not archived) cards of a column in order.
  cardsIn(columnId) {
    const ids = new Set(this.cards.keys());
    for (const op of this.ops) for (const id of op.cards || []) ids.add(id);
    const out = [];
    for (const id of ids) {
      const c = this.card(id);
      if (c && !c.archived && c.column_id === columnId) out.push(c);
    }
    return out.sort(compareRank);
  }

  archivedCards() {
    const out = [];
    for (const id of this.cards.keys()) { const c = this.card(id); if (c && c.archived) out.push(c); }
    return out.sort((a, b) => (b.archived_at || "").localeCompare(a.archived_at || ""));
  }

  allCardIds() {
    const ids = new Set(this.cards.keys());
    for (const op of this.ops) for (const id of op.cards || []) ids.add(id);
    return ids;
  }

  // label is the board label with that id, or null (a card may still carry
  // a free-text label from before boards had labels: show it as it is).
  label(id) { return this.labels.get(id) || null; }

  // labelList is the board's labels by name, as the snapshot lists them.
  labelList() {
    return [...this.labels.values()].sort((a, b) => {
      const x = a.name.toLowerCase(), y = b.name.toLowerCase();
      return x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
  }

  memberName(userId) {
    const m = this.members.get(userId);
    return m ? m.username : userId;
  }

  myRole() {
    const m = this.me && this.members.get(this.me.id);
    return (m && m.role) || (this.boardData && this.boardData.role) || "viewer";
  }
}
