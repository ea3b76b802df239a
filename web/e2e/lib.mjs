// What every browser scenario shares (web/e2e/scenarios/*.mjs): the run's
// configuration (CORKBOARD_E2E, written by e2e_test.go), the browser and its
// watched pages, API calls as a user, board fixtures, the checks that the
// page shows what the database holds, and waiting helpers. browser.mjs runs
// one scenario per process.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const cfg = JSON.parse(readFileSync(process.env.CORKBOARD_E2E, "utf8"));
export const [I0, I1] = cfg.instances;
export const U = cfg.users;
export const scenario = process.argv[2];
export const t0 = Date.now();
export const run = Math.random().toString(36).slice(2, 7);

export function log(...a) { console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s]`, ...a); }
export function fail(msg) { throw new Error(msg); }
export function assert(cond, msg) { if (!cond) fail(msg); }
export function eq(a, b, msg) {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  if (ja !== jb) fail(`${msg}\n  got:  ${ja}\n  want: ${jb}`);
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- browser -------------------------------------------------------------

export let browser;
export const pages = [];
export const problems = [];

export async function launch() {
  // Playwright gives every launch a fresh temporary --user-data-dir.
  browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

// open makes a browser context logged in as user (null: logged out) and a
// page on base; every page is watched for dialogs, errors and CSP reports.
export async function open(name, userName, base, opts = {}) {
  const context = await browser.newContext({
    baseURL: base, viewport: opts.viewport || { width: 1360, height: 860 },
    deviceScaleFactor: opts.scale || 1, colorScheme: opts.colorScheme || "light",
    isMobile: opts.isMobile || false, hasTouch: opts.hasTouch || false, bypassCSP: opts.bypassCSP || false,
  });
  if (userName) {
    await context.addCookies([{ name: "corkboard_session", value: U[userName].session, url: base, httpOnly: true, sameSite: "Lax" }]);
  }
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ""}`));
  });
  const page = await context.newPage();
  page.label = name;
  page.on("dialog", async (d) => { problems.push(`${name}: unexpected ${d.type()} dialog: ${d.message()}`); await d.dismiss().catch(() => {}); });
  page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = m.text();
    // Refused requests (4xx answers) and WebSocket attempts while an instance is down are expected.
    if (/Failed to load resource|WebSocket connection to|net::ERR_/.test(text)) return;
    problems.push(`${name}: console error: ${text}`);
  });
  pages.push(page);
  return page;
}

export async function checkPages() {
  for (const p of pages) {
    if (p.isClosed()) continue;
    const csp = await p.evaluate(() => window.__csp || []).catch(() => []);
    for (const v of csp) problems.push(`${p.label}: CSP violation: ${v}`);
  }
  if (problems.length) fail("problems in the pages:\n  " + problems.join("\n  "));
}

export async function shot(page, name, opts = {}) {
  const path = join(cfg.artifacts, `${name}.png`);
  await page.screenshot({ path, ...opts });
  log("screenshot", path);
}

// --- API (as a user, with the session secret) ------------------------------

export async function call(userName, method, path, body, base = I0, headers = {}) {
  let res;
  for (let attempt = 0; ; attempt++) {
    res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${U[userName].session}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 429 || attempt >= 20) break;
    await sleep(200 + Math.random() * 300); // the per-user rate limit: wait for tokens
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) fail(`${method} ${path} as ${userName}: ${res.status} ${text}`);
  return data;
}

export async function newBoard(owner, name, columns, members = {}) {
  const b = await call(owner, "POST", "/api/boards", { name });
  const cols = [];
  for (const c of columns) cols.push(await call(owner, "POST", `/api/boards/${b.id}/columns`, { name: c }));
  for (const [m, role] of Object.entries(members)) await call(owner, "POST", `/api/boards/${b.id}/members`, { username: m, role });
  return { board: b, cols };
}

// labelId is the id of the board's label of that name, made (once, with
// the colour its name gives) the first time a scenario names it.
export const labelsMade = new Map(); // board id + "\n" + lower-cased name → promise of the id
export function labelId(userName, boardId, name) {
  const key = boardId + "\n" + name.toLowerCase();
  if (!labelsMade.has(key)) labelsMade.set(key, call(userName, "POST", `/api/boards/${boardId}/labels`, { name }).then((l) => l.id));
  return labelsMade.get(key);
}

// addCard adds a card; its labels are given by name (see labelId).
export async function addCard(userName, boardId, columnId, title, extra = {}) {
  if (extra.labels) extra = { ...extra, labels: await Promise.all(extra.labels.map((n) => labelId(userName, boardId, n))) };
  return call(userName, "POST", `/api/boards/${boardId}/cards`, { column_id: columnId, title, ...extra });
}

export async function snapshot(userName, boardId) { return call(userName, "GET", `/api/boards/${boardId}`); }

// expected is what the board page must show for a snapshot: columns in
// order with their visible cards in order.
export function expected(snap) {
  const labelName = new Map((snap.labels || []).map((l) => [l.id, l.name]));
  return snap.columns.map((c) => ({
    name: c.name,
    cards: snap.cards.filter((k) => k.column_id === c.id && !k.archived).map((k) => ({ id: k.id, title: k.title, done: k.done,
      labels: k.labels.map((id) => labelName.get(id) || id) })),
  }));
}

export async function shown(page) {
  return page.evaluate(() => [...document.querySelectorAll(".columns > .column")].map((col) => ({
    name: col.querySelector(".column-name").textContent,
    cards: [...col.querySelectorAll(".cards > .card")].map((k) => ({
      id: k.dataset.id, title: k.querySelector(".card-title").textContent, done: k.classList.contains("is-done"),
      labels: [...k.querySelectorAll(".card-meta .label")].map((l) => l.textContent),
    })),
  })));
}

// sameAsDB waits until the page shows exactly the database state.
export async function sameAsDB(page, userName, boardId, timeout = 5000) {
  const deadline = Date.now() + timeout;
  let want, got;
  for (;;) {
    want = expected(await snapshot(userName, boardId));
    got = await shown(page);
    if (JSON.stringify(want) === JSON.stringify(got)) return;
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  eq(got, want, `${page.label} does not show the database state`);
}

export async function gotoBoard(page, boardId) {
  await page.goto(`/boards/${boardId}`);
  await page.waitForSelector('.conn[data-conn="live"]', { timeout: 10000 });
  await page.waitForFunction(() => window.__corkboard && window.__corkboard.conn === "live");
}

export async function control(action, i) {
  const res = await fetch(`${cfg.control}/${action}?i=${i}`, { method: "POST" });
  if (!res.ok) fail(`control ${action} ${i}: ${res.status} ${await res.text()}`);
}

export function card(page, title) { return page.locator(".card", { has: page.locator(".card-title", { hasText: title }) }).first(); }
export function column(page, name) { return page.locator(".column", { has: page.locator(".column-name", { hasText: name }) }).first(); }

// within waits until fn (evaluated in page with arg) is true, failing after
// ms; it returns how long it took, from start.
export async function within(page, ms, start, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms + 2000, polling: 10 });
  } catch {
    fail(`${page.label}: not seen within ${ms + 2000} ms: ${what}`);
  }
  const dt = Date.now() - start;
  if (dt > ms) fail(`${page.label}: ${what} took ${dt} ms (limit ${ms} ms)`);
  return dt;
}

export const has = {
  card: ([colName, title]) => [...document.querySelectorAll(".column")].some((c) =>
    c.querySelector(".column-name").textContent === colName &&
    [...c.querySelectorAll(".card:not(.is-temp) .card-title")].some((t) => t.textContent === title)),
  noCard: (title) => ![...document.querySelectorAll(".card-title")].some((t) => t.textContent === title),
  label: ([title, label]) => [...document.querySelectorAll(".card")].some((k) =>
    k.querySelector(".card-title").textContent === title && [...k.querySelectorAll(".label")].some((l) => l.textContent === label)),
  done: (title) => [...document.querySelectorAll(".card.is-done .card-title")].some((t) => t.textContent === title),
  order: ([colName, titles]) => {
    const c = [...document.querySelectorAll(".column")].find((x) => x.querySelector(".column-name").textContent === colName);
    return !!c && JSON.stringify([...c.querySelectorAll(".card .card-title")].map((t) => t.textContent)) === JSON.stringify(titles);
  },
};

// inOrder checks that a page applied contiguous seqs.
export async function inOrder(page) {
  const applied = await page.evaluate(() => window.__corkboard.applied);
  for (let i = 1; i < applied.length; i++) {
    if (applied[i].seq !== applied[i - 1].seq + 1) fail(`${page.label} applied seq ${applied[i].seq} after ${applied[i - 1].seq}`);
  }
  return applied;
}

// --- scenarios -----------------------------------------------------------

export const scenarios = {};

// A realistic board for screenshots (and the eye of whoever reads them).
export async function demoBoard() {
  const { board, cols } = await newBoard("alice", "Product launch · Q3", ["Backlog", "In progress", "Review", "Done"],
    { bob: "editor", carol: "editor", dave: "viewer" });
  const day = (n) => { const d = new Date(); d.setDate(d.getDate() + n); return d.toISOString().slice(0, 10); };
  const a = U.alice.id, b = U.bob.id, c = U.carol.id;
  const cards = [
    [0, "Draft pricing page copy", { labels: ["marketing"], due: day(9), assignees: [c] }],
    [0, "Collect beta feedback into themes", { labels: ["research"], description: "From the 42 interviews." }],
    [0, "Decide on launch webinar date", { due: day(14) }],
    [0, "Localise onboarding emails (de, fr, ja)", { labels: ["i18n", "email"], assignees: [b] }],
    [0, "Press kit: screenshots and logo pack", { labels: ["marketing"] }],
    [1, "Billing: proration on plan change", { labels: ["backend", "billing"], due: day(2), assignees: [a, b], description: "Edge cases for annual plans." }],
    [1, "Onboarding checklist redesign", { labels: ["design"], assignees: [c], due: day(-1) }],
    [1, "Rate limits for the public API", { labels: ["backend"], assignees: [b] }],
    [2, "Release notes for 3.0", { labels: ["docs"], assignees: [a], description: "Highlights, breaking changes, thanks." }],
    [2, "Accessibility pass on the board view", { labels: ["design", "a11y"], assignees: [c, a] }],
    [3, "Set up status page", { labels: ["ops"], done: true, assignees: [b] }],
    [3, "Migrate docs to the new domain", { labels: ["docs"], done: true }],
    [3, "Kick-off meeting", { done: true, assignees: [a, b, c] }],
  ];
  const made = [];
  for (const [col, title, extra] of cards) made.push(await addCard("alice", board.id, cols[col].id, title, extra));
  // Checklists and comments on some cards.
  const things = {
    "Billing: proration on plan change": {
      lists: { "Cases": [["Upgrade mid-cycle", true], ["Downgrade mid-cycle", true], ["Annual → monthly", false], ["Refund on cancel", false]] },
      comments: [["bob", "Stripe handles most of this; the annual → monthly path is ours.\nNotes: https://example.com/billing/proration"],
        ["alice", "Let's pair on the refund case on Thursday."]],
    },
    "Onboarding checklist redesign": { lists: { "Design": [["Wireframes", true], ["Copy", false], ["Usability test", false]] },
      comments: [["carol", "Figma link in the description once the review is done."]] },
    "Release notes for 3.0": { comments: [["alice", "Draft is up for review."], ["bob", "Looks good!"], ["carol", "Added the a11y section."]] },
    "Set up status page": { lists: { "Done": [["Pick a provider", true], ["Add components", true]] } },
  };
  for (const c of made) {
    const t = things[c.title];
    if (!t) continue;
    const base = `/api/boards/${board.id}/cards/${c.id}`;
    for (const [name, items] of Object.entries(t.lists || {})) {
      const l = await call("alice", "POST", `${base}/checklists`, { name });
      for (const [text, done] of items) await call("alice", "POST", `${base}/checklists/${l.id}/items`, { text, done });
    }
    for (const [who, text] of t.comments || []) await call(who, "POST", `${base}/comments`, { text });
  }
  return { board, cols, cards: made };
}
