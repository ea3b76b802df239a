// The members dialog: who is on the board and with which role; owners
// invite people by username and change or remove their roles.

import { h, avatar } from "./dom.js";
import { api, describe, newOpId } from "./api.js";
import { toast, confirmDialog } from "./ui.js";

const ROLES = [["owner", "Owner"], ["editor", "Editor"], ["viewer", "Viewer"]];

export class MembersDialog {
  constructor(page, onClose) {
    this.page = page;
    this.onClose = onClose;
    this.list = h("ul", { class: "member-list" });
    const owner = page.model.myRole() === "owner";
    this.user = h("input", { class: "input", id: "invite-username", placeholder: "Username", autocomplete: "off", autocapitalize: "none", spellcheck: "false", required: true });
    this.role = h("select", { class: "input", "aria-label": "Role" }, ROLES.map(([v, l]) => h("option", { value: v, text: l, selected: v === "editor" || null })));
    this.err = h("p", { class: "form-error", role: "alert", hidden: true });
    const form = h("form", { class: "invite" },
      h("label", { for: "invite-username", class: "cd-label", text: "Invite by username" }),
      h("div", { class: "row" }, this.user, this.role, h("button", { type: "submit", class: "btn btn-primary", text: "Invite" })),
      this.err);
    form.addEventListener("submit", (e) => { e.preventDefault(); this.invite(); });
    const close = h("button", { type: "button", class: "btn", text: "Done", on: { click: () => this.close() } });
    this.dlg = h("dialog", { class: "modal members-dialog", "aria-label": "Members" },
      h("h2", { class: "modal-title", text: "Members" }),
      h("p", { class: "muted small", text: owner ? "Owners manage members. Editors change cards and columns; viewers only look." : "Only owners can invite people or change roles." }),
      this.list,
      owner ? form : null,
      h("div", { class: "modal-actions" }, close));
    this.dlg.addEventListener("close", () => { this.dlg.remove(); this.onClose(); });
    this.render();
    document.body.appendChild(this.dlg);
    this.dlg.showModal();
    (owner ? this.user : close).focus();
  }

  render() {
    const m = this.page.model;
    const owner = m.myRole() === "owner";
    const me = this.page.ctx.me.id;
    const here = new Set(this.page.presence.users);
    this.list.replaceChildren(...[...m.members.values()].map((mem) => {
      const role = h("select", { class: "input input-sm", "aria-label": `Role of ${mem.username}`, disabled: !owner },
        ROLES.map(([v, l]) => h("option", { value: v, text: l, selected: v === mem.role || null })));
      role.addEventListener("change", async () => {
        try { await api.updateMember(this.page.boardId, mem.user_id, role.value, newOpId()); toast(`${mem.username} is now ${role.value}`); }
        catch (ex) { role.value = mem.role; toast(describe(ex), "error", "Could not change the role"); }
      });
      const remove = owner && mem.user_id !== me ? h("button", { type: "button", class: "btn btn-sm btn-ghost danger", text: "Remove",
        on: { click: async () => {
          if (!(await confirmDialog("Remove member?", `${mem.username} will lose access to this board.`, "Remove"))) return;
          try { await api.removeMember(this.page.boardId, mem.user_id, newOpId()); }
          catch (ex) { toast(describe(ex), "error", "Could not remove the member"); }
        } } }) : null;
      return h("li", { class: "member", "data-user": mem.user_id },
        avatar(mem.username),
        h("span", { class: "member-name" }, h("span", { text: mem.username }),
          mem.user_id === me ? h("span", { class: "muted small", text: " (you)" }) : null,
          here.has(mem.user_id) ? h("span", { class: "online-dot", title: "On the board now", "aria-label": "on the board now" }) : null),
        role, remove);
    }));
  }

  async invite() {
    const username = this.user.value.trim().toLowerCase();
    if (!username) { this.user.focus(); return; }
    this.err.hidden = true;
    try {
      await api.addMember(this.page.boardId, username, this.role.value, newOpId());
      this.user.value = "";
      toast(`Invited ${username} as ${this.role.value}`);
    } catch (ex) {
      this.err.textContent = ex.status === 404 ? `There is no user called “${username}”.` : describe(ex);
      this.err.hidden = false;
    }
  }

  close() { if (this.dlg.open) this.dlg.close(); }
}
