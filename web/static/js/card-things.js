// What a card carries besides its own fields, in the card dialog: its
// comments and its checklists. Both are fetched when the dialog opens and
// then follow the board's events live (comment.*, checklist.*,
// checklist_item.*), which carry the whole comment, checklist or item.
// Applying an event is an upsert or a removal by id, and an older version
// never replaces a newer one, so events that cross the first fetch in
// either direction do no harm.
//
// User text goes into the page as text nodes only; http(s) URLs in comments
// become anchors made with the DOM (rel="noopener noreferrer"). Checklist
// items reorder by drag and drop, by their up/down buttons, and with
// Alt+ArrowUp/Down on their checkbox, always relative to a neighbour.

import { h, icon, avatar } from "./dom.js";
import { api, describe, newOpId } from "./api.js";
import { toast, announce, confirmDialog } from "./ui.js";
import { compareRank } from "./rank.js";
import { attachMentions } from "./notifications.js";

// linkify returns the nodes of text with its http(s) URLs as links.
export function linkify(text) {
  const out = [];
  const re = /\bhttps?:\/\/[^\s<>"']+/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    let url = m[0].replace(/[.,;:!?)\]]+$/, ""); // trailing punctuation is the sentence's
    const at = m.index;
    if (at > last) out.push(document.createTextNode(text.slice(last, at)));
    let ok = false;
    try { const u = new URL(url); ok = u.protocol === "http:" || u.protocol === "https:"; } catch { ok = false; }
    out.push(ok ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }) : document.createTextNode(url));
    last = at + url.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// Follows live events for one card's things; subclasses render.
class CardThings {
  constructor(page, cardId) {
    this.page = page;
    this.cardId = cardId;
    this.loaded = false;
    this.early = []; // events that came before the first fetch answered
  }

  get board() { return this.page.boardId; }

  async load() {
    try {
      await this.fetch();
      this.loaded = true;
      for (const e of this.early) this.apply(e);
      this.early = [];
      this.render();
    } catch (err) {
      this.failed(describe(err));
    }
  }

  // reload fetches afresh, after the board reloaded its snapshot (events
  // may have been skipped).
  reload() {
    this.loaded = false;
    this.early = [];
    this.reset();
    this.load();
  }

  // onEvent takes every event of the board.
  onEvent(e) {
    const d = e.data || {};
    if (!d.card || d.card.id !== this.cardId || !this.kinds.some((k) => e.kind.startsWith(k))) return;
    if (!this.loaded) { this.early.push(e); return; }
    this.apply(e);
    this.render();
  }
}

export class CommentsSection extends CardThings {
  constructor(page, cardId) {
    super(page, cardId);
    this.kinds = ["comment."];
    this.comments = new Map();
    this.editing = null; // id of the comment being edited
    this.list = h("ol", { class: "comments", "aria-label": "Comments" });
    this.status = h("p", { class: "muted small", text: "Loading comments…" });
    const ro = !page.canEdit();
    this.input = h("textarea", { class: "input comment-input", rows: "2", maxlength: "10000", placeholder: "Write a comment…", "aria-label": "New comment" });
    attachMentions(this.input, () => [...page.model.members.values()]);
    this.send = h("button", { type: "button", class: "btn btn-primary btn-sm", text: "Comment" });
    this.send.addEventListener("click", () => this.add());
    this.input.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.add(); } });
    this.el = h("section", { class: "cd-comments" },
      h("h3", { class: "cd-label", text: "Comments" }), this.list, this.status,
      ro ? null : h("div", { class: "comment-form" }, this.input, h("div", { class: "row" }, this.send, h("span", { class: "hint", text: "Ctrl+Enter to send" }))));
    this.load();
  }

  reset() { this.comments = new Map(); }

  async fetch() {
    const res = await api.comments(this.board, this.cardId);
    for (const c of res.data.comments || []) this.upsert(c);
  }

  failed(msg) { this.status.textContent = `Could not load the comments: ${msg}`; }

  upsert(c) {
    const cur = this.comments.get(c.id);
    if (!cur || cur.version <= c.version) this.comments.set(c.id, c);
  }

  apply(e) {
    const d = e.data;
    if (e.kind === "comment.deleted") this.comments.delete(d.deleted);
    else if (d.comment) this.upsert(d.comment);
  }

  sorted() {
    return [...this.comments.values()].sort((a, b) => a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1);
  }

  render() {
    const me = this.page.ctx.me.id;
    const owner = this.page.model.myRole() === "owner";
    const canEdit = this.page.canEdit();
    const focused = document.activeElement && this.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    const items = this.sorted().map((c) => {
      const mine = c.author_id === me;
      const head = h("div", { class: "comment-head" },
        avatar(c.author_username, "avatar-xs"), h("strong", { text: c.author_username }),
        h("time", { class: "muted small", datetime: c.created_at, text: fmtTime(c.created_at) }),
        c.edited_at ? h("span", { class: "muted small comment-edited", title: `Edited ${fmtTime(c.edited_at)}`, text: "(edited)" }) : null);
      let body;
      if (this.editing === c.id) {
        const ta = h("textarea", { class: "input comment-input", rows: "3", maxlength: "10000", "aria-label": "Edit comment" });
        ta.value = this.draft ?? c.text;
        ta.addEventListener("input", () => { this.draft = ta.value; });
        ta.addEventListener("keydown", (e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.saveEdit(c, ta.value); }
          if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); this.cancelEdit(); }
        });
        body = h("div", { class: "comment-edit" }, ta, h("div", { class: "row" },
          h("button", { type: "button", class: "btn btn-primary btn-sm", text: "Save", on: { click: () => this.saveEdit(c, ta.value) } }),
          h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Cancel", on: { click: () => this.cancelEdit() } })));
        requestAnimationFrame(() => { if (document.activeElement !== ta) { ta.focus(); } });
      } else {
        body = h("p", { class: "comment-text" }, linkify(c.text));
      }
      const actions = h("div", { class: "comment-actions" },
        mine && canEdit && this.editing !== c.id ? h("button", { type: "button", class: "link-btn", text: "Edit", "data-focus-key": `edit-${c.id}`,
          "aria-label": "Edit your comment", on: { click: () => this.startEdit(c) } }) : null,
        (mine && canEdit) || owner ? h("button", { type: "button", class: "link-btn danger", text: "Delete", "data-focus-key": `del-${c.id}`,
          "aria-label": mine ? "Delete your comment" : `Delete the comment by ${c.author_username}`, on: { click: () => this.remove(c) } }) : null);
      return h("li", { class: "comment", "data-id": c.id }, head, body, actions);
    });
    this.list.replaceChildren(...items);
    this.status.hidden = items.length > 0;
    this.status.textContent = "No comments yet.";
    if (focused) { const el = this.list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`); el && el.focus(); }
  }

  async add() {
    const text = this.input.value;
    if (!text.trim()) { this.input.focus(); return; }
    this.send.disabled = true;
    try {
      const res = await api.createComment(this.board, this.cardId, text, newOpId());
      this.upsert(res.data);
      this.input.value = "";
      this.render();
      announce("Comment added");
    } catch (err) {
      toast(describe(err), "error", "Could not add the comment");
    } finally {
      this.send.disabled = false;
    }
  }

  startEdit(c) { this.editing = c.id; this.draft = null; this.render(); }
  cancelEdit() { this.editing = null; this.draft = null; this.render(); }

  async saveEdit(c, text) {
    if (!text.trim()) return;
    try {
      const res = await api.updateComment(this.board, this.cardId, c.id, text, newOpId(), c.version);
      this.upsert(res.data);
      this.editing = null;
      this.draft = null;
      this.render();
      announce("Comment saved");
    } catch (err) {
      if (err.status === 412 && err.problem.current) {
        this.upsert(err.problem.current);
        toast("The comment changed since you started: check it and save again.", "info");
        this.render();
        return;
      }
      toast(describe(err), "error", "Could not save the comment");
    }
  }

  async remove(c) {
    if (!(await confirmDialog("Delete comment?", "The comment will be deleted for everyone.", "Delete"))) return;
    try {
      await api.deleteComment(this.board, this.cardId, c.id, newOpId());
      this.comments.delete(c.id);
      this.render();
      announce("Comment deleted");
    } catch (err) {
      toast(describe(err), "error", "Could not delete the comment");
    }
  }
}

export class ChecklistsSection extends CardThings {
  constructor(page, cardId) {
    super(page, cardId);
    this.kinds = ["checklist.", "checklist_item."];
    this.lists = new Map(); // id → checklist with items
    this.editing = null; // "list:<id>" or "item:<id>": the name or text being edited inline
    this.box = h("div", { class: "checklists" });
    this.status = h("p", { class: "muted small", text: "Loading checklists…" });
    const ro = !page.canEdit();
    this.newName = h("input", { class: "input input-sm", maxlength: "200", placeholder: "New checklist", "aria-label": "New checklist name" });
    this.newName.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.addList(); } });
    this.el = h("section", { class: "cd-checklists" },
      h("h3", { class: "cd-label", text: "Checklists" }), this.box, this.status,
      ro ? null : h("div", { class: "row checklist-new" }, this.newName,
        h("button", { type: "button", class: "btn btn-sm", on: { click: () => this.addList() } }, icon("plus"), h("span", { text: "Add checklist" }))));
    if (!ro) this.dragAndDrop();
    this.load();
  }

  // dragAndDrop lets a person drag an item before or after another, in its
  // checklist or another of the card's, or onto an empty checklist.
  dragAndDrop() {
    const clear = () => { for (const x of this.box.querySelectorAll(".drop-before, .drop-after")) x.classList.remove("drop-before", "drop-after"); };
    const target = (e) => {
      const list = e.target.closest && e.target.closest(".checklist");
      if (!list) return null;
      const li = e.target.closest(".checklist-item");
      if (!li) return { list: list.dataset.id, item: null, before: false, li: null };
      const r = li.getBoundingClientRect();
      return { list: list.dataset.id, item: li.dataset.id, before: e.clientY < r.top + r.height / 2, li };
    };
    this.box.addEventListener("dragstart", (e) => {
      const li = e.target.closest && e.target.closest(".checklist-item");
      if (!li) return;
      this.dragging = li.dataset.id;
      e.dataTransfer.setData("text/plain", li.dataset.id);
      e.dataTransfer.effectAllowed = "move";
      li.classList.add("is-dragging");
    });
    this.box.addEventListener("dragend", () => {
      this.dragging = null;
      clear();
      for (const x of this.box.querySelectorAll(".is-dragging")) x.classList.remove("is-dragging");
    });
    this.box.addEventListener("dragover", (e) => {
      const t = this.dragging && target(e);
      if (!t) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      clear();
      if (t.li && t.item !== this.dragging) t.li.classList.add(t.before ? "drop-before" : "drop-after");
    });
    this.box.addEventListener("drop", (e) => {
      const t = this.dragging && target(e);
      clear();
      if (!t) return;
      e.preventDefault();
      const id = this.dragging;
      this.dragging = null;
      if (t.item !== id) this.dropItem(id, t.list, t.item, t.before);
    });
  }

  async dropItem(id, toList, targetId, before) {
    const from = [...this.lists.values()].find((l) => l.items.has(id));
    if (!from) return;
    const it = from.items.get(id);
    const body = { position: targetId ? (before ? { before: targetId } : { after: targetId }) : { to: "bottom" } };
    if (toList !== from.id) body.checklist_id = toList;
    const res = await this.call(() => api.moveItem(this.board, this.cardId, from.id, id, body, newOpId()), "Could not move the item");
    if (res) { this.putItem(res.data); this.render(); announce(`Moved ${it.text}`); }
  }

  reset() { this.lists = new Map(); }

  async fetch() {
    const res = await api.checklists(this.board, this.cardId);
    for (const l of res.data.checklists || []) this.putList(l);
  }

  failed(msg) { this.status.textContent = `Could not load the checklists: ${msg}`; }

  // putList upserts a checklist and the items it carries; an item it lacks
  // is left alone (a removal or a move comes as its own event).
  putList(l) {
    const cur = this.lists.get(l.id);
    const items = cur ? cur.items : new Map();
    this.lists.set(l.id, cur && cur.version > l.version ? cur : { ...l, items });
    for (const it of l.items || []) this.putItem(it);
  }

  putItem(it) {
    for (const l of this.lists.values()) {
      const old = l.items.get(it.id);
      if (old && old.version > it.version) return;
      l.items.delete(it.id);
    }
    const l = this.lists.get(it.checklist_id);
    if (l) l.items.set(it.id, it);
  }

  apply(e) {
    const d = e.data;
    switch (e.kind) {
      case "checklist.created":
      case "checklist.updated":
        this.putList(d.checklist);
        break;
      case "checklist.deleted":
        this.lists.delete(d.deleted);
        break;
      case "checklist_item.deleted":
        for (const l of this.lists.values()) l.items.delete(d.deleted);
        break;
      default:
        if (d.item) this.putItem(d.item);
    }
  }

  // inlineEditor is an input in place of a name or text: Enter saves,
  // Escape (or leaving it unchanged) cancels.
  inlineEditor(key, value, max, label, save) {
    const input = h("input", { class: "input input-sm inline-edit-input", maxlength: String(max), "aria-label": label, "data-focus-key": key });
    // What was typed survives a re-render (an event for this card).
    if (!this.draft || this.draft.key !== key) this.draft = { key, text: value };
    input.value = this.draft.text;
    input.addEventListener("input", () => { this.draft.text = input.value; });
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      this.editing = null;
      this.draft = null;
      const v = input.value.trim();
      if (keep && v && v !== value) save(v); else this.render();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); finish(false); }
    });
    input.addEventListener("blur", () => { if (input.isConnected) finish(true); });
    requestAnimationFrame(() => { if (input.isConnected && document.activeElement !== input) { input.focus(); input.select(); } });
    return input;
  }

  sortedLists() { return [...this.lists.values()].sort(compareRank); }
  itemsOf(l) { return [...l.items.values()].sort(compareRank); }

  render() {
    const ro = !this.page.canEdit();
    const active = document.activeElement;
    const focusKey = active && this.box.contains(active) ? active.dataset.focusKey : null;
    const lists = this.sortedLists().map((l) => {
      const items = this.itemsOf(l);
      const done = items.filter((x) => x.done).length;
      const bar = h("progress", { class: "checklist-progress", max: String(Math.max(items.length, 1)), value: String(done),
        "aria-label": `${l.name}: ${done} of ${items.length} done` });
      const head = h("div", { class: "checklist-head" },
        this.editing === `list:${l.id}`
          ? this.inlineEditor(`name-${l.id}`, l.name, 200, "Checklist name", (v) => this.renameList(l, v))
          : h("h4", { class: "checklist-name", text: l.name }),
        h("span", { class: "muted small", text: `${done}/${items.length}` }),
        ro ? null : h("button", { type: "button", class: "icon-btn", "aria-label": `Rename checklist ${l.name}`, "data-focus-key": `ren-${l.id}`,
          on: { click: () => { this.editing = `list:${l.id}`; this.render(); } } }, icon("edit")),
        ro ? null : h("button", { type: "button", class: "icon-btn", "aria-label": `Delete checklist ${l.name}`, "data-focus-key": `dell-${l.id}`,
          on: { click: () => this.deleteList(l) } }, icon("trash")));
      const rows = items.map((it, i) => {
        const box = h("input", { type: "checkbox", checked: it.done, disabled: ro, id: `item-${it.id}`, "data-focus-key": `tick-${it.id}`,
          title: ro ? null : "Alt+↑/↓ to move" });
        box.addEventListener("change", () => this.patchItem(l, it, { done: box.checked }, box.checked ? `Ticked ${it.text}` : `Unticked ${it.text}`));
        box.addEventListener("keydown", (e) => {
          if (ro || !e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
          e.preventDefault();
          this.moveItem(l, items, i, e.key === "ArrowUp" ? -1 : 1);
        });
        return h("li", { class: `checklist-item${it.done ? " is-done" : ""}`, "data-id": it.id, draggable: ro ? null : "true" },
          box, this.editing === `item:${it.id}`
            ? this.inlineEditor(`text-${it.id}`, it.text, 500, "Item text", (v) => this.patchItem(l, it, { text: v }, "Item saved"))
            : h("label", { for: `item-${it.id}`, class: "item-text", text: it.text }),
          ro ? null : h("span", { class: "item-actions" },
            h("button", { type: "button", class: "icon-btn", "aria-label": `Move ${it.text} up`, disabled: i === 0, "data-focus-key": `up-${it.id}`,
              on: { click: () => this.moveItem(l, items, i, -1) } }, icon("up")),
            h("button", { type: "button", class: "icon-btn", "aria-label": `Move ${it.text} down`, disabled: i === items.length - 1, "data-focus-key": `down-${it.id}`,
              on: { click: () => this.moveItem(l, items, i, 1) } }, icon("down")),
            h("button", { type: "button", class: "icon-btn", "aria-label": `Edit ${it.text}`, "data-focus-key": `edit-${it.id}`,
              on: { click: () => { this.editing = `item:${it.id}`; this.render(); } } }, icon("edit")),
            h("button", { type: "button", class: "icon-btn", "aria-label": `Delete ${it.text}`, "data-focus-key": `del-${it.id}`,
              on: { click: () => this.deleteItem(l, it) } }, icon("x"))));
      });
      const add = ro ? null : h("input", { class: "input input-sm", maxlength: "500", placeholder: "Add an item", "aria-label": `Add an item to ${l.name}`,
        "data-focus-key": `add-${l.id}` });
      if (add) add.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.addItem(l, add); } });
      return h("div", { class: "checklist", "data-id": l.id }, head, bar, h("ul", { class: "checklist-items", "aria-label": l.name }, rows), add);
    });
    // Keep a half-typed new item across re-renders.
    const drafts = new Map([...this.box.querySelectorAll("input[data-focus-key^='add-']")].map((x) => [x.dataset.focusKey, x.value]));
    this.box.replaceChildren(...lists);
    for (const [k, v] of drafts) { const x = this.box.querySelector(`[data-focus-key="${CSS.escape(k)}"]`); if (x) x.value = v; }
    this.status.hidden = lists.length > 0;
    this.status.textContent = "No checklists.";
    if (focusKey) { const el = this.box.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`); el && el.focus(); }
  }

  async call(fn, fail) {
    try { return await fn(); } catch (err) { toast(describe(err), "error", fail); this.render(); return null; }
  }

  async addList() {
    const name = this.newName.value.trim();
    if (!name) { this.newName.focus(); return; }
    const res = await this.call(() => api.createChecklist(this.board, this.cardId, name, newOpId()), "Could not add the checklist");
    if (!res) return;
    this.newName.value = "";
    this.putList(res.data);
    this.render();
    const add = this.box.querySelector(`[data-focus-key="add-${CSS.escape(res.data.id)}"]`);
    add && add.focus();
  }

  async renameList(l, name) {
    const res = await this.call(() => api.renameChecklist(this.board, this.cardId, l.id, name, newOpId()), "Could not rename the checklist");
    if (res) { this.putList(res.data); this.render(); announce("Checklist renamed"); }
  }

  async deleteList(l) {
    if (!(await confirmDialog("Delete checklist?", `“${l.name}” and its items will be deleted for everyone.`, "Delete"))) return;
    const res = await this.call(() => api.deleteChecklist(this.board, this.cardId, l.id, newOpId()), "Could not delete the checklist");
    if (res) { this.lists.delete(l.id); this.render(); }
  }

  async addItem(l, input) {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const res = await this.call(() => api.createItem(this.board, this.cardId, l.id, { text }, newOpId()), "Could not add the item");
    if (res) { this.putItem(res.data); this.render(); announce(`Added ${text}`); }
  }

  async patchItem(l, it, patch, said) {
    const res = await this.call(() => api.updateItem(this.board, this.cardId, l.id, it.id, patch, newOpId()), "Could not change the item");
    if (res) { this.putItem(res.data); this.render(); announce(said); }
  }

  // moveItem moves item i one place up (-1) or down (1), relative to the
  // neighbour it passes, as the server ranks it.
  async moveItem(l, items, i, by) {
    const j = i + by;
    if (j < 0 || j >= items.length) return;
    const it = items[i];
    const position = by < 0 ? { before: items[j].id } : { after: items[j].id };
    const res = await this.call(() => api.moveItem(this.board, this.cardId, l.id, it.id, { position }, newOpId()), "Could not move the item");
    if (!res) return;
    this.putItem(res.data);
    this.render();
    const box = this.box.querySelector(`[data-focus-key="tick-${CSS.escape(it.id)}"]`);
    box && box.focus();
    announce(`Moved ${it.text} to position ${j + 1} of ${items.length}`);
  }

  async deleteItem(l, it) {
    const res = await this.call(() => api.deleteItem(this.board, this.cardId, l.id, it.id, newOpId()), "Could not delete the item");
    if (res) { for (const x of this.lists.values()) x.items.delete(it.id); this.render(); announce(`Deleted ${it.text}`); }
  }
}
