// The board page's menus (the board's, a card's, a column's) and the
// dialogs the board menu opens: members, labels, webhooks, archived cards,
// the export. Mixed into BoardPage (board.js); `this` is the page.

import { api, describe } from "./api.js";
import { h } from "./dom.js";
import { indexOfId } from "./rank.js";
import { toast, announce, modal } from "./ui.js";
import { muteMenuItem } from "./notifications.js";
import { MembersDialog } from "./members.js";
import { LabelsDialog } from "./labels.js";
import { WebhooksDialog } from "./webhooks.js";

export const boardMenus = {
  boardMenu() {
    const owner = this.model.myRole() === "owner";
    const archived = this.model.archivedCards().length;
    return [
      { label: "Rename board", icon: "edit", disabled: !this.canEdit(), action: () => this.renameBoard() },
      { label: "Members", icon: "users", action: () => this.openMembers() },
      { label: "Labels", icon: "edit", action: () => this.openLabels() },
      { label: "Webhooks", icon: "right", disabled: !owner, action: () => this.openWebhooks() },
      { label: `Archived cards (${archived})`, icon: "archive", action: () => this.openArchived() },
      { label: "Activity", icon: "text", action: () => this.activity.toggle() },
      { label: "Export board", icon: "download", action: () => this.exportBoard() },
      muteMenuItem(this.boardId),
      "-",
      { label: "Delete board", icon: "trash", danger: true, disabled: !owner, action: () => this.deleteBoard() },
    ];
  },

  cardMenu(id) {
    const c = this.model.card(id);
    const ro = !this.canEdit();
    const ci = indexOfId(this.colOrder, c.column_id);
    const arr = this.colCards.get(c.column_id) || [];
    const i = indexOfId(arr, id);
    return [
      { label: "Open card", icon: "text", disabled: !!c._temp, action: () => this.openCard(id), refocus: false },
      { label: "Edit title", icon: "edit", disabled: ro, action: () => this.editTitleInline(id), refocus: false },
      { label: c.done ? "Mark not done" : "Mark done", icon: "check", disabled: ro, action: () => this.patchCard(id, { done: !c.done }) },
      "-",
      { label: "Move up", icon: "up", disabled: ro || i <= 0, action: () => this.moveCardBy(id, -1) },
      { label: "Move down", icon: "down", disabled: ro || i >= arr.length - 1, action: () => this.moveCardBy(id, 1) },
      { label: "Move to previous column", icon: "left", disabled: ro || ci <= 0, action: () => this.moveCardAcross(id, -1) },
      { label: "Move to next column", icon: "right", disabled: ro || ci >= this.colOrder.length - 1, action: () => this.moveCardAcross(id, 1) },
      "-",
      { label: "Archive", icon: "archive", disabled: ro, action: () => this.archiveCard(id, true) },
      { label: "Delete", icon: "trash", danger: true, disabled: ro, action: () => this.deleteCard(id) },
    ];
  },

  columnMenu(id) {
    const ro = !this.canEdit();
    const i = indexOfId(this.colOrder, id);
    return [
      { label: "Rename", icon: "edit", disabled: ro, action: () => this.renameColumn(id), refocus: false },
      { label: "Add a card", icon: "plus", disabled: ro, action: () => this.openComposer(id), refocus: false },
      "-",
      { label: "Move left", icon: "left", disabled: ro || i <= 0, action: () => this.moveColumnBy(id, -1) },
      { label: "Move right", icon: "right", disabled: ro || i >= this.colOrder.length - 1, action: () => this.moveColumnBy(id, 1) },
      "-",
      { label: "Delete column", icon: "trash", danger: true, disabled: ro, action: () => this.deleteColumn(id) },
    ];
  },

  // exportBoard downloads the board with everything on it as JSON (an
  // import of that file makes a copy).
  async exportBoard() {
    try {
      const res = await api.exportBoard(this.boardId);
      const blob = new Blob([JSON.stringify(res.data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: `board-${this.boardId}.json`, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      announce("Board exported");
    } catch (ex) { toast(describe(ex), "error", "Could not export the board"); }
  },

  openMembers() {
    if (this.membersDialog) return;
    this.membersDialog = new MembersDialog(this, () => { this.membersDialog = null; });
  },

  openLabels() {
    if (this.labelsDialog) return;
    this.labelsDialog = new LabelsDialog(this, () => { this.labelsDialog = null; });
  },

  openWebhooks() {
    if (this.webhooksDialog) return;
    this.webhooksDialog = new WebhooksDialog(this, () => { this.webhooksDialog = null; });
  },

  openArchived() {
    const list = h("ul", { class: "archived-list" });
    const render = () => {
      const cards = this.model.archivedCards();
      list.replaceChildren(...(cards.length ? cards.map((c) => h("li", { class: "archived-item" },
        h("span", { class: "archived-title", text: c.title }),
        h("span", { class: "muted", text: (this.model.column(c.column_id) || {}).name || "" }),
        this.canEdit() ? h("button", { type: "button", class: "btn btn-sm", text: "Restore", on: { click: () => { this.archiveCard(c.id, false); setTimeout(render, 50); } } }) : null,
        this.canEdit() ? h("button", { type: "button", class: "btn btn-sm btn-ghost danger", text: "Delete", on: { click: () => { this.deleteCard(c.id, true); setTimeout(render, 50); } } }) : null,
      )) : [h("li", { class: "muted", text: "No archived cards." })]));
    };
    render();
    modal({ title: "Archived cards", body: list, buttons: [{ label: "Close", value: "cancel", autofocus: true }], className: "modal-wide" });
  }
};
