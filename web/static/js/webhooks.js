// The webhooks dialog (owners only): the board's webhooks, adding one (its
// secret shown once, with a copy button), turning them on and off, deleting
// them, and each one's delivery log with "send test event" and "redeliver".
// Everything from the server goes in as text (h's text and attributes).

import { h } from "./dom.js";
import { request, describe } from "./api.js";
import { toast, confirmDialog } from "./ui.js";

const base = (b) => `/api/boards/${b}/webhooks`;

export const webhookApi = {
  list: (b) => request("GET", base(b)),
  create: (b, body) => request("POST", base(b), { body }),
  update: (b, id, patch) => request("PATCH", `${base(b)}/${id}`, { body: patch }),
  remove: (b, id) => request("DELETE", `${base(b)}/${id}`),
  test: (b, id) => request("POST", `${base(b)}/${id}/test`),
  deliveries: (b, id) => request("GET", `${base(b)}/${id}/deliveries?limit=20`),
  redeliver: (b, id, d) => request("POST", `${base(b)}/${id}/deliveries/${d}/redeliver`),
  rotate: (b, id) => request("POST", `${base(b)}/${id}/rotate-secret`),
};

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

export class WebhooksDialog {
  constructor(page, onClose) {
    this.page = page;
    this.onClose = onClose;
    this.boardId = page.boardId;
    this.kinds = [];
    this.open = new Set(); // webhooks whose delivery log is shown
    this.list = h("ul", { class: "member-list webhook-list" });
    this.url = h("input", { class: "input", id: "webhook-url", type: "url", placeholder: "https://example.com/hooks/corkboard", autocomplete: "off", spellcheck: "false", required: true });
    this.kindSel = h("select", { class: "input", multiple: true, size: "4", "aria-label": "Event kinds (none selected: all)" });
    this.err = h("p", { class: "form-error", role: "alert", hidden: true });
    this.secretBox = h("div", { class: "webhook-secret", hidden: true });
    const form = h("form", { class: "invite webhook-form" },
      h("label", { for: "webhook-url", class: "cd-label", text: "Add a webhook" }),
      h("div", { class: "row" }, this.url, h("button", { type: "submit", class: "btn btn-primary", text: "Add" })),
      h("p", { class: "muted small", text: "Events to send (none selected: every kind):" }),
      this.kindSel,
      this.err);
    form.addEventListener("submit", (e) => { e.preventDefault(); this.add(); });
    const close = h("button", { type: "button", class: "btn", text: "Done", on: { click: () => this.close() } });
    this.dlg = h("dialog", { class: "modal members-dialog webhooks-dialog", "aria-label": "Webhooks" },
      h("h2", { class: "modal-title", text: "Webhooks" }),
      h("p", { class: "muted small", text: "Each webhook receives the board's events as signed HTTP POSTs (Standard Webhooks), in order." }),
      this.secretBox,
      this.list,
      form,
      h("div", { class: "modal-actions" }, close));
    this.dlg.addEventListener("close", () => { this.dlg.remove(); this.onClose(); });
    document.body.appendChild(this.dlg);
    this.dlg.showModal();
    this.url.focus();
    this.load();
  }

  async load() {
    try {
      const { data } = await webhookApi.list(this.boardId);
      if (!this.kinds.length) {
        this.kinds = data.kinds || [];
        this.kindSel.replaceChildren(...this.kinds.map((k) => h("option", { value: k, text: k })));
      }
      this.hooks = data.webhooks || [];
      this.render();
    } catch (ex) {
      this.list.replaceChildren(h("li", { class: "muted", text: describe(ex) }));
    }
  }

  render() {
    if (!this.hooks.length) {
      this.list.replaceChildren(h("li", { class: "muted small", text: "No webhooks yet." }));
      return;
    }
    this.list.replaceChildren(...this.hooks.map((w) => this.item(w)));
  }

  item(w) {
    const toggle = h("input", { type: "checkbox", checked: w.active, "aria-label": `Active: ${w.url}` });
    toggle.addEventListener("change", async () => {
      try { await webhookApi.update(this.boardId, w.id, { active: toggle.checked }); this.load(); }
      catch (ex) { toggle.checked = w.active; toast(describe(ex), "error", "Could not change the webhook"); }
    });
    const test = h("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Send test event", on: { click: async () => {
      try {
        await webhookApi.test(this.boardId, w.id);
        toast("Test event queued");
        this.open.add(w.id);
        setTimeout(() => this.load(), 800);
      } catch (ex) { toast(describe(ex), "error", "Could not send a test event"); }
    } } });
    const logBtn = h("button", { type: "button", class: "btn btn-sm btn-ghost", text: this.open.has(w.id) ? "Hide deliveries" : "Deliveries", "aria-expanded": String(this.open.has(w.id)),
      on: { click: () => {
        if (this.open.has(w.id)) { this.open.delete(w.id); logEl.hidden = true; logBtn.textContent = "Deliveries"; logBtn.setAttribute("aria-expanded", "false"); return; }
        this.open.add(w.id); logBtn.textContent = "Hide deliveries"; logBtn.setAttribute("aria-expanded", "true");
        this.showLog(w, logEl);
      } } });
    const remove = h("button", { type: "button", class: "btn btn-sm btn-ghost danger", text: "Delete", on: { click: async () => {
      if (!(await confirmDialog("Delete webhook?", `${w.url} will receive no more events, and its delivery log goes.`, "Delete"))) return;
      try { await webhookApi.remove(this.boardId, w.id); this.open.delete(w.id); this.load(); }
      catch (ex) { toast(describe(ex), "error", "Could not delete the webhook"); }
    } } });
    const rotate = h("button", { type: "button", class: "btn btn-sm btn-ghost", text: "New secret", on: { click: async () => {
      if (!(await confirmDialog("Replace the secret?", `${w.url} gets a new signing secret; the old one also signs for 24 hours, while you switch.`, "Replace", "primary"))) return;
      try { const { data } = await webhookApi.rotate(this.boardId, w.id); this.showSecret(data); }
      catch (ex) { toast(describe(ex), "error", "Could not replace the secret"); }
    } } });
    const logEl = h("div", { class: "webhook-log", hidden: !this.open.has(w.id) });
    if (this.open.has(w.id)) this.showLog(w, logEl);
    const status = w.active
      ? (w.failing_since ? `failing since ${when(w.failing_since)} (${w.attempts} attempts); next try ${when(w.next_attempt_at)}` : `delivered up to event ${w.cursor}`)
      : `off: ${w.disabled_reason || "turned off"}`;
    return h("li", { class: "member webhook", "data-webhook": w.id },
      h("label", { class: "webhook-active" }, toggle),
      h("span", { class: "member-name webhook-main" },
        h("span", { class: "webhook-url", text: w.url }),
        h("span", { class: "muted small", text: `Events: ${w.kinds.length ? w.kinds.join(", ") : "all"}` }),
        h("span", { class: w.active && !w.failing_since ? "muted small webhook-status" : "small form-error webhook-status", text: status })),
      test, logBtn, rotate, remove, logEl);
  }

  async showLog(w, el) {
    el.hidden = false;
    try {
      const { data } = await webhookApi.deliveries(this.boardId, w.id);
      const rows = (data.deliveries || []).map((d) => h("li", { class: "webhook-delivery" },
        h("span", { class: d.ok ? "webhook-ok" : "form-error", text: d.ok ? `✓ ${d.status_code}` : `✗ ${d.status_code || "—"}` }),
        h("span", { text: ` ${d.kind || "(lost)"}${d.seq ? " #" + d.seq : ""} · ${d.trigger} · attempt ${d.attempt} · ${Math.round(d.latency_ms)} ms · ${when(d.at)}` }),
        d.error ? h("span", { class: "muted small", text: ` — ${d.error}` }) : null,
        d.next_retry_at ? h("span", { class: "muted small", text: ` — retry ${when(d.next_retry_at)}` }) : null,
        h("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Redeliver", on: { click: async () => {
          try { await webhookApi.redeliver(this.boardId, w.id, d.id); toast("Redelivery queued"); setTimeout(() => this.showLog(w, el), 1000); }
          catch (ex) { toast(describe(ex), "error", "Could not redeliver"); }
        } } })));
      const refresh = h("button", { type: "button", class: "btn btn-sm btn-ghost", text: "Refresh", on: { click: () => this.showLog(w, el) } });
      el.replaceChildren(rows.length ? h("ul", { class: "webhook-deliveries" }, rows) : h("p", { class: "muted small", text: "No deliveries yet." }), refresh);
    } catch (ex) {
      el.replaceChildren(h("p", { class: "form-error", text: describe(ex) }));
    }
  }

  async add() {
    const url = this.url.value.trim();
    if (!url) { this.url.focus(); return; }
    this.err.hidden = true;
    const kinds = [...this.kindSel.selectedOptions].map((o) => o.value);
    try {
      const { data } = await webhookApi.create(this.boardId, { url, kinds });
      this.url.value = "";
      this.kindSel.selectedIndex = -1;
      this.showSecret(data);
      this.load();
    } catch (ex) {
      this.err.textContent = describe(ex);
      this.err.hidden = false;
    }
  }

  // showSecret shows a new webhook's secret, this once, with a copy button.
  showSecret(w) {
    const field = h("input", { class: "input webhook-secret-value", readonly: true, value: w.secret, "aria-label": "Signing secret" });
    const copy = h("button", { type: "button", class: "btn btn-sm", text: "Copy", on: { click: async () => {
      try { await navigator.clipboard.writeText(w.secret); toast("Secret copied"); }
      catch { field.select(); toast("Select the secret and copy it", "error"); }
    } } });
    this.secretBox.replaceChildren(
      h("p", { class: "small", text: `Signing secret of ${w.url}: copy it now, it is not shown again.` }),
      h("div", { class: "row" }, field, copy));
    this.secretBox.hidden = false;
    field.focus();
    field.select();
  }

  close() { if (this.dlg.open) this.dlg.close(); }
}
