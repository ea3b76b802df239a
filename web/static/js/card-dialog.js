// The card's detail view: title, description, attachments, checklists, comments,
// labels, due date, assignees, done, moving, archiving and deleting. It follows the card live: fields the
// person is not editing show the latest state; fields they are editing keep
// what they typed. The description is saved with If-Match on the version it
// was read at, and a 412 shows both versions to choose from: nothing is ever
// overwritten silently.

import { h, icon, avatar } from "./dom.js";
import { describe } from "./api.js";
import { toast, announce } from "./ui.js";
import { CommentsSection, ChecklistsSection } from "./card-things.js";
import { LabelPicker } from "./labels.js";
import { CardActivity } from "./activity.js";
import { AttachmentsSection } from "./attachments.js";
import { attachMentions } from "./notifications.js";

export class CardDialog {
  constructor(page, id, onClose) {
    this.page = page;
    this.id = id;
    this.onClose = onClose;
    this.descBase = null; // {version, text} the description edit started from
    this.closed = false;
    this.build();
    this.fill(true);
    document.body.appendChild(this.dlg);
    this.dlg.showModal();
    this.title.focus();
  }

  get card() { return this.page.model.card(this.id); }

  build() {
    const ro = !this.page.canEdit();
    this.title = h("textarea", { class: "cd-title", rows: "1", maxlength: "200", "aria-label": "Title", readonly: ro || null });
    this.title.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.title.blur(); } });
    this.title.addEventListener("blur", () => this.saveTitle());
    this.title.addEventListener("input", () => this.autosize(this.title));
    const closeBtn = h("button", { type: "button", class: "icon-btn cd-close", "aria-label": "Close" }, icon("x"));
    closeBtn.addEventListener("click", () => this.close());
    this.where = h("p", { class: "cd-where muted" });

    this.desc = h("textarea", { class: "cd-desc input", rows: "6", maxlength: "10000", placeholder: ro ? "No description" : "Add a more detailed description…",
      "aria-label": "Description", readonly: ro || null });
    if (!ro) attachMentions(this.desc, () => [...this.page.model.members.values()]);
    this.desc.addEventListener("input", () => {
      if (!this.descBase) { const c = this.card; this.descBase = { version: c.version, text: c.description || "" }; }
      this.descActions.hidden = false;
      this.refreshDescNote();
    });
    this.desc.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.saveDescription(); }
      if (e.key === "Escape" && this.descBase) { e.preventDefault(); e.stopPropagation(); this.discardDescription(); }
    });
    this.descNote = h("p", { class: "cd-note", role: "status", hidden: true });
    this.descSave = h("button", { type: "button", class: "btn btn-primary btn-sm", text: "Save" });
    this.descSave.addEventListener("click", () => this.saveDescription());
    this.descActions = h("div", { class: "row cd-desc-actions", hidden: true }, this.descSave,
      h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Cancel", on: { click: () => this.discardDescription() } }),
      h("span", { class: "hint", text: "Ctrl+Enter to save" }));
    this.conflict = h("div", { class: "conflict", role: "alert", hidden: true });
    this.checklists = new ChecklistsSection(this.page, this.id);
    this.comments = new CommentsSection(this.page, this.id);
    this.activity = new CardActivity(this.page, this.id);
    this.attachments = new AttachmentsSection(this.page, this.id);

    this.done = h("input", { type: "checkbox", id: "cd-done", disabled: ro });
    this.done.addEventListener("change", () => this.page.patchCard(this.id, { done: this.done.checked }, this.done.checked ? "Marked done" : "Marked not done"));
    this.due = h("input", { type: "date", class: "input", id: "cd-due", disabled: ro });
    this.due.addEventListener("change", () => this.page.patchCard(this.id, { due: this.due.value || null }));
    this.labels = new LabelPicker(this.page, this.id);
    this.assignees = h("div", { class: "assignee-list", role: "group", "aria-label": "Assignees" });
    this.moveCol = h("select", { class: "input input-sm", "aria-label": "Column", disabled: ro });
    const mv = (label, ic, fn) => h("button", { type: "button", class: "btn btn-sm", disabled: ro, "aria-label": label, title: label, on: { click: fn } }, icon(ic));
    this.archiveBtn = h("button", { type: "button", class: "btn btn-sm", disabled: ro });
    this.archiveBtn.addEventListener("click", () => this.page.archiveCard(this.id, !this.card.archived));
    const del = h("button", { type: "button", class: "btn btn-sm btn-danger-ghost", disabled: ro }, icon("trash"), h("span", { text: "Delete" }));
    del.addEventListener("click", async () => { await this.page.deleteCard(this.id); if (!this.page.model.card(this.id)) this.close(); });

    this.dlg = h("dialog", { class: "modal card-dialog", "aria-label": "Card details" },
      h("div", { class: "cd-head" }, h("span", { class: "cd-check-wrap" }, this.done, h("label", { for: "cd-done", class: "sr-only", text: "Done" })), this.title, closeBtn),
      this.where,
      h("div", { class: "cd-grid" },
        h("section", { class: "cd-main" },
          h("h3", { class: "cd-label", text: "Description" }), this.desc, this.descNote, this.descActions, this.conflict,
          this.attachments.el, this.checklists.el, this.comments.el, this.activity.el),
        h("aside", { class: "cd-side" },
          h("h3", { class: "cd-label", text: "Labels" }), this.labels.el,
          h("label", { class: "cd-label", for: "cd-due", text: "Due date" }), this.due,
          h("h3", { class: "cd-label", text: "Assignees" }), this.assignees,
          h("h3", { class: "cd-label", text: "Move" }),
          this.moveCol,
          h("div", { class: "row wrap" },
            h("button", { type: "button", class: "btn btn-sm", disabled: ro, text: "Top", on: { click: () => this.page.moveCard(this.id, this.moveCol.value, 0) } }),
            h("button", { type: "button", class: "btn btn-sm", disabled: ro, text: "Bottom", on: { click: () => this.page.moveCard(this.id, this.moveCol.value, Infinity) } })),
          h("div", { class: "row" },
            mv("Move up", "up", () => this.page.moveCardBy(this.id, -1)),
            mv("Move down", "down", () => this.page.moveCardBy(this.id, 1)),
            mv("Move to previous column", "left", () => this.page.moveCardAcross(this.id, -1)),
            mv("Move to next column", "right", () => this.page.moveCardAcross(this.id, 1))),
          h("h3", { class: "cd-label", text: "Actions" }),
          h("div", { class: "row wrap" }, this.archiveBtn, del))));
    this.attachments.dropTarget(this.dlg);
    this.dlg.addEventListener("close", () => this.cleanup());
    this.dlg.addEventListener("cancel", (e) => {
      // Escape: keep an unsaved description unless the person confirms.
      if (this.descBase && this.desc.value !== this.descBase.text) {
        e.preventDefault();
        toast("Save or cancel your description first.", "info");
        this.desc.focus();
      }
    });
    this.dlg.addEventListener("click", (e) => { if (e.target === this.dlg) this.close(); });
  }

  autosize(el) {
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight}px`;
  }

  // onEvent follows the board's events for the card's comments and
  // checklists, which the board's model does not hold.
  onEvent(e) {
    if (this.closed) return;
    this.checklists.onEvent(e);
    this.comments.onEvent(e);
    this.activity.onEvent(e);
    this.attachments.onEvent(e);
  }

  // update follows a change of the board.
  update(change) {
    if (this.closed) return;
    if (change.cards.has(this.id) || change.columns.size || change.members || change.labels || change.reset) this.fill(false);
    if (change.cards.has(this.id) && !this.closed) this.attachments.cardChanged();
    if (change.reset && !this.closed) { this.checklists.reload(); this.comments.reload(); this.activity.reload(); this.attachments.reload(); }
  }

  fill(first) {
    const c = this.card;
    if (!c) {
      toast("This card was deleted.", "info");
      this.close();
      return;
    }
    const m = this.page.model;
    if (document.activeElement !== this.title && this.title.value !== c.title) { this.title.value = c.title; this.autosize(this.title); }
    if (first) requestAnimationFrame(() => this.autosize(this.title));
    const col = m.column(c.column_id);
    this.where.replaceChildren(...[
      document.createTextNode("In "), h("strong", { text: col ? col.name : "?" }),
      c.archived ? h("span", { class: "badge", text: "Archived" }) : null,
      c.created_by ? document.createTextNode(` · created by ${m.memberName(c.created_by)}`) : null].filter(Boolean));
    if (!this.descBase) {
      if (this.desc.value !== (c.description || "")) this.desc.value = c.description || "";
    }
    this.refreshDescNote();
    this.done.checked = !!c.done;
    if (document.activeElement !== this.due) this.due.value = c.due || "";
    // Labels: the board's, by id.
    const ro = !this.page.canEdit();
    this.labels.fill();
    // Assignees: every member, checked when assigned.
    const focusedUser = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.user;
    const boxes = [...m.members.values()].map((mem) => {
      const cb = h("input", { type: "checkbox", checked: (c.assignees || []).includes(mem.user_id), disabled: ro, "data-user": mem.user_id, id: `as-${mem.user_id}` });
      cb.addEventListener("change", () => {
        const cur = new Set(this.card.assignees || []);
        if (cb.checked) cur.add(mem.user_id); else cur.delete(mem.user_id);
        this.page.patchCard(this.id, { assignees: [...cur] }, cb.checked ? `Assigned ${mem.username}` : `Unassigned ${mem.username}`);
      });
      return h("label", { class: "assignee", for: `as-${mem.user_id}` }, cb, avatar(mem.username, "avatar-xs"), h("span", { text: mem.username }));
    });
    this.assignees.replaceChildren(...boxes);
    if (focusedUser) { const again = this.assignees.querySelector(`input[id="as-${CSS.escape(focusedUser)}"]`); again && again.focus(); }
    // Columns to move to.
    const cols = m.columnList().filter((x) => !x._temp);
    const sel = this.moveCol.value || c.column_id;
    this.moveCol.replaceChildren(...cols.map((x) => h("option", { value: x.id, text: x.name })));
    this.moveCol.value = cols.some((x) => x.id === sel) && !first ? sel : c.column_id;
    this.archiveBtn.replaceChildren(icon("archive"), h("span", { text: c.archived ? "Restore" : "Archive" }));
  }

  refreshDescNote() {
    const c = this.card;
    if (!c) return;
    // The card shows the person's own text while their save waits (offline).
    const changed = this.descBase && (c.description || "") !== this.descBase.text && (c.description || "") !== this.desc.value;
    this.descNote.hidden = !changed;
    this.descNote.textContent = changed ? "Someone else changed the description while you were editing. Saving will let you compare both versions." : "";
  }

  saveTitle() {
    const c = this.card;
    if (!c || !this.page.canEdit()) return;
    const v = this.title.value.replace(/\s+/g, " ").trim();
    if (!v) { this.title.value = c.title; return; }
    if (v !== c.title) this.page.patchCard(this.id, { title: v }, "Title saved");
  }

  discardDescription() {
    this.descBase = null;
    this.conflict.hidden = true;
    this.descActions.hidden = true;
    this.fill(false);
  }

  // saveDescription sends the text with If-Match on the version the edit
  // started from (or the version the person chose to overwrite).
  async saveDescription(ifVersion) {
    const c = this.card;
    if (!c || !this.descBase) return;
    const mine = this.desc.value;
    const base = this.descBase;
    this.descSave.disabled = true;
    try {
      await this.page.patchCard(this.id, { description: mine }, null,
        { ifMatch: ifVersion || base.version, quiet: (err) => err.status === 412 });
      if (this.descBase === base && this.desc.value === mine) {
        this.descBase = null;
        this.descActions.hidden = true;
        this.conflict.hidden = true;
        this.refreshDescNote();
        announce("Description saved");
      }
    } catch (err) {
      if (err.status === 412 && err.problem && err.problem.current) {
        const cur = err.problem.current;
        if ((cur.description || "") === base.text) {
          // Only other fields changed: the description is still what the
          // person started from, so saving over it loses nothing.
          this.descBase = { version: cur.version, text: base.text };
          this.descSave.disabled = false;
          return this.saveDescription(cur.version);
        }
        this.showConflict(mine, cur);
      }
    } finally {
      this.descSave.disabled = false;
    }
  }

  showConflict(mine, cur) {
    const theirs = cur.description || "";
    const keep = h("button", { type: "button", class: "btn btn-primary btn-sm", text: "Keep mine" });
    const take = h("button", { type: "button", class: "btn btn-sm", text: "Use theirs" });
    const merge = h("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Edit to combine" });
    keep.addEventListener("click", () => {
      this.descBase = { version: cur.version, text: theirs };
      this.desc.value = mine;
      this.conflict.hidden = true;
      this.saveDescription(cur.version);
    });
    take.addEventListener("click", () => {
      this.desc.value = theirs;
      this.discardDescription();
      announce("Kept the other version");
    });
    merge.addEventListener("click", () => {
      this.descBase = { version: cur.version, text: theirs };
      this.desc.value = mine + (mine.endsWith("\n") || !mine ? "" : "\n") + "\n" + theirs;
      this.conflict.hidden = true;
      this.refreshDescNote();
      this.desc.focus();
    });
    this.conflict.replaceChildren(
      h("h4", { text: "The description was changed by someone else" }),
      h("p", { class: "muted small", text: "Your edit was not saved. Choose which version to keep, or combine them." }),
      h("div", { class: "conflict-cols" },
        h("div", { class: "conflict-col conflict-mine" }, h("h5", { text: "Your version" }), h("div", { class: "conflict-text", text: mine || "(empty)" })),
        h("div", { class: "conflict-col conflict-theirs" }, h("h5", { text: "Current version" }), h("div", { class: "conflict-text", text: theirs || "(empty)" }))),
      h("div", { class: "row" }, keep, take, merge));
    this.conflict.hidden = false;
    keep.focus();
  }

  close() {
    if (this.closed) return;
    if (this.dlg.open) this.dlg.close(); else this.cleanup();
  }

  cleanup() {
    if (this.closed) return;
    // Keep an unsaved title typed into the field.
    if (document.activeElement === this.title) this.saveTitle();
    this.closed = true;
    this.dlg.remove();
    this.onClose && this.onClose();
  }
}
