// Activity: who did what, when — "ann moved this card from Doing to Done",
// "ben ticked Write tests" — built from the board's event log. The card
// dialog has the card's activity and the board a side panel with the whole
// board's; both page back through GET /api/boards/{board}/activity ("Show
// older") and take live events as the board applies them.
//
// A sentence is made in one place, describe(), from an event and the state
// its entity had before it ("prev"): the server sends prev with each entry
// it pages; for a live event notePrev() takes it from what the page knew
// just before applying it (the board's confirmed state, what the feeds and
// the card dialog have loaded). Names are resolved when shown: columns,
// cards, labels and members from the board as it is now, then from the
// event itself (what a deleted thing was called), then a neutral word
// ("a deleted column"). A kind this page does not know reads "ann changed
// this card" (or "… changed the board").
//
// Everything user-written goes into the page as text nodes.

import { h, icon } from "./dom.js";
import { request, describe as describeError } from "./api.js";

const PAGE = 30;
const SNIPPET = 140;
const KEEP = 300; // entries a feed holds; older ones are paged in again on demand

// --- what an event is about ----------------------------------------------

function family(kind) { return String(kind || "").split(".")[0]; }

// cardOf returns the id of the card an event is about (as the server's
// activity ?card= filter does), or "".
export function cardOf(e) {
  const d = e.data || {};
  if (family(e.kind) === "card") return d.id || "";
  return (d.card && d.card.id) || "";
}

// entityOf returns the id of the entity an event changed, within its family.
function entityOf(e) {
  const d = e.data || {};
  switch (family(e.kind)) {
    case "comment": return (d.comment && d.comment.id) || d.deleted || "";
    case "checklist": return (d.checklist && d.checklist.id) || d.deleted || "";
    case "checklist_item": return (d.item && d.item.id) || d.deleted || "";
    case "attachment": return (d.attachment && d.attachment.id) || d.deleted || "";
    default: return d.id || "";
  }
}

// stateOf returns the entity as the event leaves it (null for a deletion).
function stateOf(e) {
  if (String(e.kind).endsWith(".deleted")) return null;
  const d = e.data || {};
  switch (family(e.kind)) {
    case "comment": return d.comment || null;
    case "checklist": return d.checklist || null;
    case "checklist_item": return d.item || null;
    case "attachment": return d.attachment || null;
    case "card": case "column": case "label": case "board": return d;
    default: return null;
  }
}

// What the page has learned about entities the board's model does not hold
// (comments, checklists, items, attachments): family:id → {seq, state}.
const knownByPage = new WeakMap();

function known(page) {
  let k = knownByPage.get(page);
  if (!k) { k = new Map(); knownByPage.set(page, k); }
  return k;
}

function learn(page, e, state) {
  const id = entityOf(e);
  if (!id) return;
  const k = known(page);
  const key = `${family(e.kind)}:${id}`;
  const cur = k.get(key);
  if (cur && cur.seq >= e.seq) return;
  if (state) k.set(key, { seq: e.seq, state });
  else k.delete(key);
}

// fromDialog finds a comment or checklist item in the open card dialog.
function fromDialog(page, fam, id) {
  const dlg = page.dialog;
  if (!dlg || dlg.closed) return null;
  if (fam === "comment" && dlg.comments && dlg.comments.comments) return dlg.comments.comments.get(id) || null;
  if (fam === "checklist" && dlg.checklists && dlg.checklists.lists) return dlg.checklists.lists.get(id) || null;
  if (fam === "checklist_item" && dlg.checklists && dlg.checklists.lists) {
    for (const l of dlg.checklists.lists.values()) {
      const it = l.items && l.items.get(id);
      if (it) return it;
    }
  }
  return null;
}

// notePrev sets e.prev, the state e's entity had before e, from what the
// page knows; the board calls it for every event just before applying it.
export function notePrev(page, e) {
  try {
    const fam = family(e.kind);
    const id = entityOf(e);
    const m = page.model;
    if (id && !String(e.kind).endsWith(".created") && e.prev === undefined) {
      let prev = null;
      if (fam === "card") prev = m.cards.get(id) || null;
      else if (fam === "column") prev = m.columns.get(id) || null;
      else if (fam === "label") prev = (m.labels instanceof Map && m.labels.get(id)) || null;
      else if (fam === "board") prev = m.boardData || null;
      if (!prev) {
        const k = known(page).get(`${fam}:${id}`);
        if (k && k.seq < e.seq) prev = k.state;
      }
      if (!prev) prev = fromDialog(page, fam, id);
      if (prev) e.prev = prev;
    }
    learn(page, e, stateOf(e));
  } catch { /* activity is best effort: never stop the board */ }
}

// --- an event in words -----------------------------------------------------

// A sentence is a list of parts: strings, and {name} for names (shown in
// bold), {quote} for a snippet of user text shown after the sentence.
const N = (name) => ({ name: String(name) });

function who(e, ctx) {
  const m = ctx.model.members.get(e.actor);
  if (m) return m.username;
  if (ctx.users && ctx.users[e.actor]) return ctx.users[e.actor];
  return "someone";
}

function columnName(ctx, id, fallback) {
  const c = id && ctx.model.columns.get(id);
  if (c && c.name) return N(c.name);
  return fallback ? N(fallback) : "a deleted column";
}

// cardRef names a card: "this card" in the card's own activity, else its
// title now, else the title it had, else "a deleted card".
function cardRef(ctx, id, title) {
  if (ctx.card && id === ctx.card) return "this card";
  const c = id && ctx.model.cards.get(id);
  if (c && c.title) return N(c.title);
  return title ? N(title) : "a deleted card";
}

function memberName(ctx, id) {
  const m = ctx.model.members.get(id);
  if (m) return m.username;
  return (ctx.users && ctx.users[id]) || "someone";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// labelName resolves a card's label: an id through the board's labels, a
// free-text label as it is.
function labelName(ctx, v) {
  const labels = ctx.model.labels;
  const l = labels instanceof Map ? labels.get(v) : null;
  if (l && l.name) return N(l.name);
  return UUID.test(String(v)) ? "a deleted label" : N(v);
}

// checklistName names a checklist the page has seen (ctx.known: what
// learn() gathered), else "a checklist".
function checklistName(ctx, id) {
  const k = ctx.known && id && ctx.known.get(`checklist:${id}`);
  return k && k.state && k.state.name ? N(k.state.name) : "a checklist";
}

function snippet(text) {
  const t = String(text || "").replace(/\s+/g, " ").trim();
  return t.length > SNIPPET ? `${t.slice(0, SNIPPET - 1)}…` : t;
}

// on appends " on <card>" in the board's activity (where the card is not
// implied).
function on(ctx, e, word = " on ") {
  if (ctx.card) return [];
  const id = cardOf(e);
  return id ? [word, cardRef(ctx, id)] : [];
}

// joinPhrases joins phrases (each a list of parts) with commas and "and".
function joinPhrases(phrases) {
  const out = [];
  phrases.forEach((p, i) => {
    if (i > 0) out.push(i === phrases.length - 1 ? " and " : ", ");
    out.push(...p);
  });
  return out;
}

function same(a, b) { return JSON.stringify(a ?? null) === JSON.stringify(b ?? null); }

function cardUpdated(ctx, e, d, p) {
  const ref = cardRef(ctx, d.id, p && p.title);
  if (!p) return ["changed ", ref];
  const phrases = [];
  let first = true;
  const it = () => { if (first) { first = false; return ref; } return "it"; };
  if (p.title !== d.title) {
    phrases.push(["renamed ", ctx.card ? it() : (first = false, N(p.title)), " to ", N(d.title)]);
  }
  if ((p.description || "") !== (d.description || "")) phrases.push(["changed the description of ", it()]);
  const pl = p.labels || [], dl = d.labels || [];
  for (const l of dl) if (!pl.includes(l)) phrases.push(["added the label ", labelName(ctx, l), " to ", it()]);
  for (const l of pl) if (!dl.includes(l)) phrases.push(["removed the label ", labelName(ctx, l), " from ", it()]);
  if ((p.due || null) !== (d.due || null)) {
    phrases.push(d.due ? ["set the due date of ", it(), " to ", N(d.due)] : ["removed the due date of ", it()]);
  }
  const pa = p.assignees || [], da = d.assignees || [];
  for (const u of da) if (!pa.includes(u)) phrases.push(["assigned ", N(memberName(ctx, u)), " to ", it()]);
  for (const u of pa) if (!da.includes(u)) phrases.push(["unassigned ", N(memberName(ctx, u)), " from ", it()]);
  if (!!p.done !== !!d.done) phrases.push(["marked ", it(), d.done ? " done" : " not done"]);
  if (!phrases.length) return ["changed ", ref];
  return joinPhrases(phrases);
}

// phrase returns what the actor did, or null for events that are nobody's
// change (respacing).
function phrase(e, ctx) {
  const d = e.data || {};
  const p = e.prev || null;
  switch (e.kind) {
    case "board.created": return ["created the board ", N(d.name)];
    case "board.updated":
      if (p && p.name !== d.name) return ["renamed the board ", N(p.name), " to ", N(d.name)];
      if (p && p.description !== d.description) return ["changed the board's description"];
      return ["changed the board"];
    case "board.deleted": return ["deleted the board"];
    case "column.created": return ["added the column ", N(d.name)];
    case "column.updated":
      if (p && p.name !== d.name) return ["renamed the column ", N(p.name), " to ", N(d.name)];
      return ["changed the column ", N(d.name)];
    case "column.moved": return ["moved the column ", N(d.name)];
    case "column.deleted": {
      const what = p && p.name ? ["deleted the column ", N(p.name)] : ["deleted a column"];
      if (ctx.card) {
        if ((d.deleted || []).includes(ctx.card)) return [...what, " and this card with it"];
        return [...what, ", moving this card to ", columnName(ctx, d.to)];
      }
      if (d.cards === "move" && (d.moved || []).length) return [...what, ", moving its cards to ", columnName(ctx, d.to)];
      if (d.cards === "delete" && (d.deleted || []).length) {
        const n = d.deleted.length;
        return [...what, ` and its ${n} card${n === 1 ? "" : "s"}`];
      }
      return what;
    }
    case "cards.respaced":
    case "columns.respaced":
      return null;
    case "card.created":
      return ["added ", cardRef(ctx, d.id, d.title), " to ", columnName(ctx, d.column_id)];
    case "card.updated": return cardUpdated(ctx, e, d, p);
    case "card.moved": {
      const ref = cardRef(ctx, d.id, d.title);
      if (p && p.column_id !== d.column_id) return ["moved ", ref, " from ", columnName(ctx, p.column_id), " to ", columnName(ctx, d.column_id)];
      if (p) return ["moved ", ref, " within ", columnName(ctx, d.column_id)];
      return ["moved ", ref, " to ", columnName(ctx, d.column_id)];
    }
    case "card.archived": return ["archived ", cardRef(ctx, d.id, d.title)];
    case "card.unarchived": return ["restored ", cardRef(ctx, d.id, d.title)];
    case "card.deleted": return ["deleted ", cardRef(ctx, d.id, p && p.title)];
    case "member.added": return ["added ", N(d.username || memberName(ctx, d.user_id)), ` as ${d.role || "member"}`];
    case "member.updated": return ["made ", N(d.username || memberName(ctx, d.user_id)), ` ${{ owner: "an owner", editor: "an editor", viewer: "a viewer" }[d.role] || "a member"}`];
    case "member.removed":
      if (d.user_id === e.actor) return ["left the board"];
      return ["removed ", N(d.username || memberName(ctx, d.user_id)), " from the board"];
    case "comment.created": return ["commented", ...on(ctx, e), { quote: snippet(d.comment && d.comment.text) }];
    case "comment.updated": return ["edited a comment", ...on(ctx, e), { quote: snippet(d.comment && d.comment.text) }];
    case "comment.deleted": return ["deleted a comment", ...on(ctx, e), p ? { quote: snippet(p.text) } : ""];
    case "checklist.created": return ["added the checklist ", N(d.checklist && d.checklist.name), ...on(ctx, e, " to ")];
    case "checklist.updated": {
      const name = d.checklist && d.checklist.name;
      if (p && p.name !== name) return ["renamed the checklist ", N(p.name), " to ", N(name), ...on(ctx, e)];
      return ["changed the checklist ", N(name), ...on(ctx, e)];
    }
    case "checklist.deleted": return [...(p && p.name ? ["deleted the checklist ", N(p.name)] : ["deleted a checklist"]), ...on(ctx, e, " from ")];
    case "checklist_item.created": return ["added ", N(d.item && d.item.text), " to ", checklistName(ctx, d.item && d.item.checklist_id), ...on(ctx, e)];
    case "checklist_item.updated": {
      const it = d.item || {};
      if (!p) return ["changed the item ", N(it.text), ...on(ctx, e)];
      const phrases = [];
      if (p.text !== it.text) phrases.push(["renamed the item ", N(p.text), " to ", N(it.text)]);
      if (!!p.done !== !!it.done) phrases.push([it.done ? "ticked " : "unticked ", N(it.text)]);
      if (!phrases.length) return ["changed the item ", N(it.text), ...on(ctx, e)];
      return [...joinPhrases(phrases), ...on(ctx, e)];
    }
    case "checklist_item.moved": {
      const it = d.item || {};
      if (p && p.checklist_id !== it.checklist_id) return ["moved ", N(it.text), " to another checklist", ...on(ctx, e)];
      return ["reordered ", N(it.text), ...on(ctx, e)];
    }
    case "checklist_item.deleted": return [...(p && p.text ? ["deleted the item ", N(p.text)] : ["deleted an item"]), ...on(ctx, e, " from ")];
    case "attachment.created": return ["attached ", N((d.attachment && d.attachment.name) || "a file"), ...on(ctx, e, " to ")];
    case "attachment.deleted": {
      const a = d.attachment || p;
      return [...(a && a.name ? ["removed the attachment ", N(a.name)] : ["removed an attachment"]), ...on(ctx, e, " from ")];
    }
    case "label.created": return ["created the label ", N(d.name), d.color ? ` (${d.color})` : ""];
    case "label.updated": {
      if (p && p.name !== d.name) return ["renamed the label ", N(p.name), " to ", N(d.name)];
      if (p && p.color !== d.color) return ["made the label ", N(d.name), ` ${d.color}`];
      return ["changed the label ", N(d.name)];
    }
    case "label.deleted": {
      const name = d.name || (p && p.name);
      const what = name ? ["deleted the label ", N(name)] : ["deleted a label"];
      return ctx.card ? [...what, ", which this card had"] : what;
    }
    default: {
      // A kind this page does not know (yet).
      const card = cardOf(e);
      if (ctx.card || card) return ["changed ", card ? cardRef(ctx, card) : "this card"];
      return ["changed the board"];
    }
  }
}

// describe turns an activity entry (an event with its prev) into a
// sentence: {who, parts, quote}, or null for an entry not shown. ctx is
// {model, users, card, known}: the board's model, usernames of actors from
// the activity pages, the card whose activity this is (or null), and what
// the page has learned of checklists (optional).
export function describe(e, ctx) {
  let parts;
  try {
    parts = phrase(e, ctx);
  } catch {
    parts = ["changed ", ctx.card ? "this card" : "the board"];
  }
  if (!parts) return null;
  let quote = "";
  const out = [];
  for (const x of parts) {
    if (x && typeof x === "object" && "quote" in x) quote = x.quote;
    else if (x !== "" && x !== null && x !== undefined) out.push(x);
  }
  return { who: who(e, ctx), parts: out, quote };
}

// sentenceText is a description as plain text ("ann moved this card from
// Doing to Done").
export function sentenceText(s) {
  return [s.who, " ", ...s.parts.map((x) => (typeof x === "object" ? x.name : x))].join("");
}

function ago(iso) {
  const t = new Date(iso).getTime();
  const s = Math.round((Date.now() - t) / 1000);
  if (!Number.isFinite(s)) return "";
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function renderEntry(e, ctx) {
  const s = describe(e, ctx);
  if (!s) return null;
  const text = h("span", { class: "act-text" }, h("strong", { class: "act-who", text: s.who }), " ",
    s.parts.map((x) => (typeof x === "object" ? h("strong", { class: "act-name", text: x.name }) : x)));
  return h("li", { class: "act-entry", "data-seq": String(e.seq), "data-kind": e.kind },
    text,
    s.quote ? h("q", { class: "act-quote", text: s.quote }) : null,
    h("time", { class: "act-time muted small", datetime: e.at, title: new Date(e.at).toLocaleString(), text: ago(e.at) }));
}

// --- a feed: the board's activity or a card's -----------------------------

class Feed {
  constructor(page, cardId) {
    this.page = page;
    this.cardId = cardId || null;
    this.entries = new Map(); // seq → entry
    this.users = {};
    this.next = 0; // before= of the next older page
    this.more = false;
    this.loaded = false;
    this.loading = false;
    this.gen = 0; // a reload abandons the answers of the fetches before it
    this.list = h("ol", { class: "act-list", "aria-label": this.cardId ? "Card activity" : "Board activity" });
    this.status = h("p", { class: "muted small act-status", role: "status", text: "Loading activity…" });
    this.older = h("button", { type: "button", class: "btn btn-ghost btn-sm act-older", hidden: true, text: "Show older" });
    this.older.addEventListener("click", () => this.loadOlder());
  }

  ctx() { return { model: this.page.model, users: this.users, card: this.cardId, known: known(this.page) }; }

  matches(e) {
    if (e.kind === "cards.respaced" || e.kind === "columns.respaced") return false;
    if (!this.cardId) return true;
    if (cardOf(e) === this.cardId) return true;
    const d = e.data || {};
    if (e.kind === "label.deleted") return (d.cards || []).includes(this.cardId);
    return e.kind === "column.deleted" &&
      ((d.deleted || []).includes(this.cardId) || (d.moved || []).some((c) => c.id === this.cardId));
  }

  async loadOlder() {
    if (this.loading) return;
    this.loading = true;
    this.older.disabled = true;
    const gen = this.gen;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (this.cardId) q.set("card", this.cardId);
    if (this.loaded && this.next) q.set("before", String(this.next));
    try {
      const res = await request("GET", `/api/boards/${this.page.boardId}/activity?${q}`);
      if (gen !== this.gen) return;
      const p = res.data || {};
      Object.assign(this.users, p.users || {});
      const got = p.entries || [];
      for (const e of [...got].reverse()) learn(this.page, e, stateOf(e));
      for (const e of got) if (!this.entries.has(e.seq)) this.entries.set(e.seq, e);
      this.paged = this.entries.size;
      this.next = p.next || 0;
      this.more = !!p.more;
      this.loaded = true;
      this.status.textContent = "";
    } catch (err) {
      if (gen !== this.gen) return;
      this.status.textContent = `Could not load the activity: ${describeError(err)}`;
    } finally {
      if (gen === this.gen) {
        this.loading = false;
        this.older.disabled = false;
        this.render();
      }
    }
  }

  // onEvent takes every event the board applies, after notePrev. Events
  // that arrive together (one WebSocket message) render once.
  onEvent(e) {
    if (!this.matches(e) || this.entries.has(e.seq)) return;
    this.entries.set(e.seq, { ...e, prev: e.prev === undefined ? null : e.prev });
    if (!this.loaded || this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => { this.renderQueued = false; this.trim(); this.render(); });
  }

  // trim bounds what live events add: it keeps the newest entries, as many
  // as the person has paged in or KEEP, whichever is more; the older ones
  // can be paged in again.
  trim() {
    const keep = Math.max(KEEP, this.paged || 0);
    if (this.entries.size <= keep) return;
    const seqs = [...this.entries.keys()].sort((a, b) => b - a);
    for (const seq of seqs.slice(keep)) this.entries.delete(seq);
    this.next = seqs[keep - 1];
    this.more = true;
  }

  // reload starts again from the newest page (after the board reloaded).
  reload() {
    this.gen += 1;
    this.loading = false;
    this.loaded = false;
    this.entries = new Map();
    this.next = 0;
    this.paged = 0;
    this.loadOlder();
  }

  render() {
    if (this.el && this.el.hidden) return; // rendered when shown
    const ctx = this.ctx();
    const sorted = [...this.entries.values()].sort((a, b) => b.seq - a.seq);
    this.list.replaceChildren(...sorted.map((e) => renderEntry(e, ctx)).filter(Boolean));
    this.older.hidden = !this.more;
    if (this.loaded && !this.list.children.length) this.status.textContent = "No activity yet.";
    else if (this.loaded) this.status.textContent = "";
  }
}

// CardActivity is the activity list of the card dialog.
export class CardActivity extends Feed {
  constructor(page, cardId) {
    super(page, cardId);
    this.el = h("section", { class: "cd-activity" },
      h("h3", { class: "cd-label", text: "Activity" }), this.list, this.status, this.older);
    this.loadOlder();
  }
}

// ActivityPanel is the board's activity in a side panel; toggle() shows and
// hides it. It loads when first shown and follows the board while it
// exists, shown or not.
export class ActivityPanel extends Feed {
  constructor(page) {
    super(page, null);
    const close = h("button", { type: "button", class: "icon-btn", "aria-label": "Close activity" }, icon("x"));
    close.addEventListener("click", () => this.hide());
    this.el = h("aside", { class: "activity-panel", "aria-label": "Board activity", hidden: true, tabindex: "-1" },
      h("div", { class: "act-head" }, h("h2", { text: "Activity" }), close),
      h("div", { class: "act-body" }, this.list, this.status, this.older));
    this.el.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); this.hide(); } });
  }

  get shown() { return !this.el.hidden; }

  toggle() { if (this.shown) this.hide(); else this.show(); }

  show() {
    this.returnFocus = document.activeElement;
    this.el.hidden = false;
    if (!this.loaded && !this.loading) this.loadOlder();
    else this.render();
    this.el.focus();
  }

  hide() {
    this.el.hidden = true;
    if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
  }

  // Live events before the first page are left to that page.
  onEvent(e) { if (this.loaded || this.loading) super.onEvent(e); }
}
