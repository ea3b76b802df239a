// The account page (/account): change the password (which ends the other
// sessions and revokes every API token, and says so), list the sessions and
// the API tokens, end or revoke each, create a token and show its secret once.
// Everything the server sends goes into the page as text, never as HTML.

import { h, icon, clear } from "./dom.js";
import { api, describe } from "./api.js";
import { toast, confirmDialog } from "./ui.js";
import { topbar } from "./pages.js";

// when renders a timestamp for a person ("" for none).
function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

// revokedText says what a password change ended.
export function revokedText(r) {
  const parts = [];
  parts.push(r.revoked_sessions ? `ended ${plural(r.revoked_sessions, "other session", "other sessions")}` : "no other session was open");
  parts.push(r.revoked_tokens ? `revoked ${plural(r.revoked_tokens, "API token", "API tokens")}` : "there were no API tokens to revoke");
  return `Password changed: ${parts.join("; ")}. This session stays logged in.`;
}

export function renderAccount(root, ctx) {
  let alive = true;

  // Password.
  const pwError = h("p", { class: "form-error", role: "alert", hidden: true });
  const pwDone = h("p", { class: "account-result", role: "status", hidden: true });
  const current = h("input", { id: "pw-current", class: "input", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { id: "pw-new", class: "input", type: "password", autocomplete: "new-password", required: true, minlength: "8" });
  const pwSubmit = h("button", { type: "submit", class: "btn btn-primary", text: "Change password" });
  const pwForm = h("form", { class: "account-form", novalidate: true },
    h("label", { for: "pw-current", text: "Current password" }), current,
    h("label", { for: "pw-new", text: "New password" }), next,
    h("p", { class: "hint", text: "At least 8 characters. Changing it logs out your other sessions and revokes all your API tokens." }),
    pwError, pwDone, h("div", {}, pwSubmit));
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    pwError.hidden = true;
    pwDone.hidden = true;
    pwSubmit.disabled = true;
    try {
      const res = await api.changePassword(current.value, next.value);
      current.value = "";
      next.value = "";
      pwDone.textContent = revokedText(res.data || {});
      pwDone.hidden = false;
      secretBox.hidden = true; // that token is revoked too
      loadSessions();
      loadTokens();
    } catch (ex) {
      pwError.textContent = describe(ex);
      pwError.hidden = false;
      (ex.problem && ex.problem.field === "new_password" ? next : current).focus();
    } finally {
      pwSubmit.disabled = false;
    }
  });

  // Sessions.
  const sessionList = h("ul", { class: "account-list", "aria-label": "Sessions" });
  const sessionStatus = h("p", { class: "muted", text: "Loading sessions…" });

  function sessionItem(s) {
    const what = s.user_agent || "Unknown browser or client";
    const meta = [s.ip && `from ${s.ip}`, `signed in ${when(s.created_at)}`, `last seen ${when(s.last_seen_at)}`,
      `expires ${when(s.expires_at)}`].filter(Boolean).join(" · ");
    const li = h("li", { class: "account-item", "data-id": s.id },
      h("div", { class: "account-item-main" },
        h("span", { class: "account-item-name" }, h("span", { text: what }),
          s.current ? h("span", { class: "badge", text: "This session" }) : null),
        h("span", { class: "hint", text: meta })));
    if (s.current) {
      li.appendChild(h("button", { type: "button", class: "btn btn-sm", text: "Log out", on: { click: () => ctx.logout() } }));
    } else {
      const end = h("button", { type: "button", class: "btn btn-sm btn-danger-ghost", text: "End", "aria-label": `End session: ${what}` });
      end.addEventListener("click", async () => {
        if (!(await confirmDialog("End this session?", `${what} will be logged out at once.`, "End session"))) return;
        end.disabled = true;
        try { await api.endSession(s.id); li.remove(); toast("Session ended"); }
        catch (ex) { end.disabled = false; toast(describe(ex), "error", "Could not end the session"); }
      });
      li.appendChild(end);
    }
    return li;
  }

  async function loadSessions() {
    try {
      const res = await api.sessions();
      if (!alive) return;
      const list = (res.data && res.data.sessions) || [];
      clear(sessionList);
      for (const s of list) sessionList.appendChild(sessionItem(s));
      sessionStatus.hidden = list.length > 0;
      sessionStatus.textContent = "No sessions.";
    } catch (ex) { if (alive) { sessionStatus.textContent = describe(ex); sessionStatus.hidden = false; } }
  }

  // API tokens.
  const tokenList = h("ul", { class: "account-list", "aria-label": "API tokens" });
  const tokenStatus = h("p", { class: "muted", text: "Loading API tokens…" });
  const tokenName = h("input", { id: "token-name", class: "input", maxlength: "100", required: true, placeholder: "What it is for, e.g. CI script" });
  const tokenExpiry = h("select", { id: "token-expiry", class: "input" },
    h("option", { value: "720h", text: "30 days" }),
    h("option", { value: "2160h", text: "90 days" }),
    h("option", { value: "8760h", text: "1 year" }),
    h("option", { value: "", text: "Never" }));
  const tokenError = h("p", { class: "form-error", role: "alert", hidden: true });
  const secretBox = h("div", { class: "token-secret", hidden: true });
  const tokenForm = h("form", { class: "account-form account-form-row", novalidate: true },
    h("label", { for: "token-name", text: "Name" }), tokenName,
    h("label", { for: "token-expiry", text: "Expires in" }), tokenExpiry,
    h("div", {}, h("button", { type: "submit", class: "btn btn-primary" }, icon("plus"), h("span", { text: "Create token" }))));
  tokenForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    tokenError.hidden = true;
    const name = tokenName.value.trim();
    if (!name) { tokenName.focus(); return; }
    try {
      const res = await api.createToken(name, tokenExpiry.value);
      tokenName.value = "";
      showSecret(res.data);
      loadTokens();
    } catch (ex) {
      tokenError.textContent = describe(ex);
      tokenError.hidden = false;
    }
  });

  // showSecret shows a new token's secret, this once.
  function showSecret(t) {
    const field = h("input", { class: "input token-secret-value", readonly: true, value: t.token, "aria-label": `Secret of token ${t.name}` });
    const copy = h("button", { type: "button", class: "btn btn-sm", text: "Copy" });
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(t.token); toast("Copied"); }
      catch { field.select(); }
    });
    clear(secretBox).append(
      h("p", {}, h("strong", { text: `Token “${t.name}” created.` }), " Copy its secret now: it is not shown again."),
      h("div", { class: "row" }, field, copy),
      h("p", { class: "hint", text: "Send it as Authorization: Bearer <secret>." }));
    secretBox.hidden = false;
    field.focus();
    field.select();
  }

  function tokenItem(t) {
    const meta = [`created ${when(t.created_at)}`, t.last_used_at ? `last used ${when(t.last_used_at)}` : "never used",
      t.expires_at ? `expires ${when(t.expires_at)}` : "never expires"].join(" · ");
    const li = h("li", { class: "account-item", "data-id": t.id },
      h("div", { class: "account-item-main" },
        h("span", { class: "account-item-name", text: t.name }),
        h("span", { class: "hint", text: meta })));
    const revoke = h("button", { type: "button", class: "btn btn-sm btn-danger-ghost", text: "Revoke", "aria-label": `Revoke token ${t.name}` });
    revoke.addEventListener("click", async () => {
      if (!(await confirmDialog("Revoke this token?", `Scripts using “${t.name}” stop working at once.`, "Revoke token"))) return;
      revoke.disabled = true;
      try { await api.revokeToken(t.id); li.remove(); toast(`Revoked “${t.name}”`); if (!tokenList.children.length) tokenStatus.hidden = false; }
      catch (ex) { revoke.disabled = false; toast(describe(ex), "error", "Could not revoke the token"); }
    });
    li.appendChild(revoke);
    return li;
  }

  async function loadTokens() {
    try {
      const res = await api.tokens();
      if (!alive) return;
      const list = (res.data && res.data.tokens) || [];
      clear(tokenList);
      for (const t of list) tokenList.appendChild(tokenItem(t));
      tokenStatus.hidden = list.length > 0;
      tokenStatus.textContent = "No API tokens.";
    } catch (ex) { if (alive) { tokenStatus.textContent = describe(ex); tokenStatus.hidden = false; } }
  }

  clear(root).appendChild(h("div", { class: "page" },
    topbar(ctx),
    h("main", { class: "account-page" },
      h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "Your account" }),
        h("p", { class: "muted", text: `Signed in as ${ctx.me.username}.` }))),
      h("section", { class: "account-section", "aria-labelledby": "account-password" },
        h("h2", { id: "account-password", text: "Password" }), pwForm),
      h("section", { class: "account-section", "aria-labelledby": "account-sessions" },
        h("h2", { id: "account-sessions", text: "Sessions" }),
        h("p", { class: "hint", text: "Where you are logged in. Ending a session logs it out at once." }),
        sessionStatus, sessionList),
      h("section", { class: "account-section", "aria-labelledby": "account-tokens" },
        h("h2", { id: "account-tokens", text: "API tokens" }),
        h("p", { class: "hint", text: "For scripts. A token acts as you on every board you can reach." }),
        tokenForm, tokenError, secretBox, tokenStatus, tokenList))));
  document.title = "Account · Corkboard";
  loadSessions();
  loadTokens();
  return { destroy() { alive = false; } };
}
