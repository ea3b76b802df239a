// Corkboard's browser scenarios, run one per process by e2e_test.go:
//
//   node web/e2e/browser.mjs <scenario>
//
// with CORKBOARD_E2E naming the JSON file the Go test wrote (instance URLs,
// the control URL that stops and starts instances, the users and their
// session secrets, Chromium's path and the artifacts folder). Each scenario
// launches headless Chromium with a fresh profile, fails on any dialog,
// uncaught error or CSP violation in a page, and exits non-zero on failure.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const cfg = JSON.parse(readFileSync(process.env.CORKBOARD_E2E, "utf8"));
const [I0, I1] = cfg.instances;
const U = cfg.users;
const scenario = process.argv[2];
const t0 = Date.now();
const run = Math.random().toString(36).slice(2, 7);

function log(...a) { console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s]`, ...a); }
function fail(msg) { throw new Error(msg); }
function assert(cond, msg) { if (!cond) fail(msg); }
function eq(a, b, msg) {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  if (ja !== jb) fail(`${msg}\n  got:  ${ja}\n  want: ${jb}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- browser -------------------------------------------------------------

let browser;
const pages = [];
const problems = [];

async function launch() {
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
async function open(name, userName, base, opts = {}) {
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

async function checkPages() {
  for (const p of pages) {
    if (p.isClosed()) continue;
    const csp = await p.evaluate(() => window.__csp || []).catch(() => []);
    for (const v of csp) problems.push(`${p.label}: CSP violation: ${v}`);
  }
  if (problems.length) fail("problems in the pages:\n  " + problems.join("\n  "));
}

async function shot(page, name, opts = {}) {
  const path = join(cfg.artifacts, `${name}.png`);
  await page.screenshot({ path, ...opts });
  log("screenshot", path);
}

// --- API (as a user, with the session secret) ------------------------------

async function call(userName, method, path, body, base = I0, headers = {}) {
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

async function newBoard(owner, name, columns, members = {}) {
  const b = await call(owner, "POST", "/api/boards", { name });
  const cols = [];
  for (const c of columns) cols.push(await call(owner, "POST", `/api/boards/${b.id}/columns`, { name: c }));
  for (const [m, role] of Object.entries(members)) await call(owner, "POST", `/api/boards/${b.id}/members`, { username: m, role });
  return { board: b, cols };
}

// labelId is the id of the board's label of that name, made (once, with
// the colour its name gives) the first time a scenario names it.
const labelsMade = new Map(); // board id + "\n" + lower-cased name → promise of the id
function labelId(userName, boardId, name) {
  const key = boardId + "\n" + name.toLowerCase();
  if (!labelsMade.has(key)) labelsMade.set(key, call(userName, "POST", `/api/boards/${boardId}/labels`, { name }).then((l) => l.id));
  return labelsMade.get(key);
}

// addCard adds a card; its labels are given by name (see labelId).
async function addCard(userName, boardId, columnId, title, extra = {}) {
  if (extra.labels) extra = { ...extra, labels: await Promise.all(extra.labels.map((n) => labelId(userName, boardId, n))) };
  return call(userName, "POST", `/api/boards/${boardId}/cards`, { column_id: columnId, title, ...extra });
}

async function snapshot(userName, boardId) { return call(userName, "GET", `/api/boards/${boardId}`); }

// expected is what the board page must show for a snapshot: columns in
// order with their visible cards in order.
function expected(snap) {
  const labelName = new Map((snap.labels || []).map((l) => [l.id, l.name]));
  return snap.columns.map((c) => ({
    name: c.name,
    cards: snap.cards.filter((k) => k.column_id === c.id && !k.archived).map((k) => ({ id: k.id, title: k.title, done: k.done,
      labels: k.labels.map((id) => labelName.get(id) || id) })),
  }));
}

async function shown(page) {
  return page.evaluate(() => [...document.querySelectorAll(".columns > .column")].map((col) => ({
    name: col.querySelector(".column-name").textContent,
    cards: [...col.querySelectorAll(".cards > .card")].map((k) => ({
      id: k.dataset.id, title: k.querySelector(".card-title").textContent, done: k.classList.contains("is-done"),
      labels: [...k.querySelectorAll(".card-meta .label")].map((l) => l.textContent),
    })),
  })));
}

// sameAsDB waits until the page shows exactly the database state.
async function sameAsDB(page, userName, boardId, timeout = 5000) {
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

async function gotoBoard(page, boardId) {
  await page.goto(`/boards/${boardId}`);
  await page.waitForSelector('.conn[data-conn="live"]', { timeout: 10000 });
  await page.waitForFunction(() => window.__corkboard && window.__corkboard.conn === "live");
}

async function control(action, i) {
  const res = await fetch(`${cfg.control}/${action}?i=${i}`, { method: "POST" });
  if (!res.ok) fail(`control ${action} ${i}: ${res.status} ${await res.text()}`);
}

function card(page, title) { return page.locator(".card", { has: page.locator(".card-title", { hasText: title }) }).first(); }
function column(page, name) { return page.locator(".column", { has: page.locator(".column-name", { hasText: name }) }).first(); }

// within waits until fn (evaluated in page with arg) is true, failing after
// ms; it returns how long it took, from start.
async function within(page, ms, start, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms + 2000, polling: 10 });
  } catch {
    fail(`${page.label}: not seen within ${ms + 2000} ms: ${what}`);
  }
  const dt = Date.now() - start;
  if (dt > ms) fail(`${page.label}: ${what} took ${dt} ms (limit ${ms} ms)`);
  return dt;
}

const has = {
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
async function inOrder(page) {
  const applied = await page.evaluate(() => window.__corkboard.applied);
  for (let i = 1; i < applied.length; i++) {
    if (applied[i].seq !== applied[i - 1].seq + 1) fail(`${page.label} applied seq ${applied[i].seq} after ${applied[i - 1].seq}`);
  }
  return applied;
}

// --- scenarios -----------------------------------------------------------

const scenarios = {};

scenarios.live = async () => {
  const { board, cols } = await newBoard("alice", `Live ${run}`, ["Todo", "Doing", "Done"], { bob: "editor" });
  await addCard("alice", board.id, cols[0].id, "Seed card");
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  // Presence: each sees the other.
  await A.waitForFunction(() => document.querySelector(".presence").dataset.count === "1");
  await B.waitForFunction(() => document.querySelector(".presence").dataset.count === "1");

  const timings = [];
  async function round(actor, observer, who) {
    const title = `Task by ${who} ${run}`;
    // Add a card with the composer.
    let start = Date.now();
    await column(actor, "Todo").locator(".add-card-btn").click();
    await actor.keyboard.type(title);
    start = Date.now();
    await actor.keyboard.press("Enter");
    await actor.keyboard.press("Escape");
    timings.push(await within(observer, 1000, start, `${who} added "${title}"`, has.card, ["Todo", title]));
    // Edit the title inline (F2 on the focused card).
    const renamed = `${title} (edited)`;
    await card(actor, title).focus();
    await actor.keyboard.press("F2");
    await actor.keyboard.press("End");
    await actor.keyboard.type(" (edited)");
    start = Date.now();
    await actor.keyboard.press("Enter");
    timings.push(await within(observer, 1000, start, `${who} renamed to "${renamed}"`, has.card, ["Todo", renamed]));
    // Edit in the detail view: a label.
    await card(actor, renamed).click();
    const dlg = actor.locator("dialog.card-dialog");
    await dlg.waitFor();
    await dlg.getByRole("button", { name: "Labels", exact: true }).click();
    await dlg.getByLabel("Name of the new label").fill(`launch ${who}`);
    start = Date.now();
    await dlg.getByLabel("Name of the new label").press("Enter");
    timings.push(await within(observer, 1000, start, `${who} labelled "${renamed}"`, has.label, [renamed, `launch ${who}`]));
    await actor.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
    // Move it with the card menu's button.
    await card(actor, renamed).hover();
    await card(actor, renamed).locator(".card-more").click();
    start = Date.now();
    await actor.getByRole("menuitem", { name: "Move to next column" }).click();
    timings.push(await within(observer, 1000, start, `${who} moved "${renamed}" to Doing`, has.card, ["Doing", renamed]));
    // Mark it done.
    start = Date.now();
    await card(actor, renamed).locator(".card-check").click();
    timings.push(await within(observer, 1000, start, `${who} marked "${renamed}" done`, has.done, renamed));
    // Delete it.
    await card(actor, renamed).hover();
    await card(actor, renamed).locator(".card-more").click();
    await actor.getByRole("menuitem", { name: "Delete" }).click();
    start = Date.now();
    await actor.locator("dialog.modal").getByRole("button", { name: "Delete card" }).click();
    timings.push(await within(observer, 1000, start, `${who} deleted "${renamed}"`, has.noCard, renamed));
    log(`${who}'s changes seen by the other in ms:`, timings.slice(-6).join(", "));
  }
  await round(A, B, "alice");
  await round(B, A, "bob");

  // Both applied the same events, in order, and show what the database has.
  const a = await inOrder(A), b = await inOrder(B);
  eq(b.map((x) => x.kind), a.map((x) => x.kind), "A and B applied different events");
  const events = await call("alice", "GET", `/api/boards/${board.id}/events?since=${a[0].seq - 1}&limit=1000`);
  eq(a.map((x) => x.kind), events.events.map((e) => e.kind), "events applied differ from the log");
  await sameAsDB(A, "alice", board.id);
  await sameAsDB(B, "bob", board.id);
  log("max latency", Math.max(...timings), "ms over", timings.length, "changes");
};


// Comments and checklists: two people on two instances with one card open.
// A comment (with markup and a URL) shows up live on the other screen as
// text with a safe link; a checklist made by one is ticked and reordered by
// keyboard by the other; the card faces show the counts; the board exports
// and imports through the page.
scenarios.cardthings = async () => {
  const { board, cols } = await newBoard("alice", `Card things ${run}`, ["Todo", "Done"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, "Launch plan");
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  for (const P of [A, B]) {
    await card(P, "Launch plan").click();
    await P.locator("dialog.card-dialog .cd-comments .muted", { hasText: "No comments yet." }).waitFor();
  }
  const dA = A.locator("dialog.card-dialog"), dB = B.locator("dialog.card-dialog");

  // alice comments; bob sees it live in his open dialog.
  const text = `<img src=x onerror="window.__xss=1"> see https://example.com/spec?a=1&b=2.\nsecond line`;
  await dA.getByLabel("New comment").fill(text);
  let start = Date.now();
  await dA.getByRole("button", { name: "Comment", exact: true }).click();
  await B.waitForFunction(() => [...document.querySelectorAll("dialog.card-dialog .comment-text")].some((p) => p.textContent.includes("second line")),
    null, { polling: 10 });
  log(`comment seen by the other in ${Date.now() - start} ms`);
  const shownText = await dB.locator(".comment-text").first().textContent();
  eq(shownText, text, "the comment as bob sees it");
  const links = await dB.locator(".comment-text a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.getAttribute("rel"), a.textContent]));
  eq(links, [["https://example.com/spec?a=1&b=2", "noopener noreferrer", "https://example.com/spec?a=1&b=2"]], "the link in the comment");
  eq(await B.evaluate(() => [window.__xss ?? null, document.querySelectorAll("dialog.card-dialog .comment img").length]), [null, 0], "markup from the comment");
  // bob cannot edit alice's comment; alice edits hers, bob sees "(edited)".
  eq(await dB.getByRole("button", { name: "Edit your comment" }).count(), 0, "bob's edit button on alice's comment");
  await dA.getByRole("button", { name: "Edit your comment" }).click();
  await dA.getByLabel("Edit comment").fill("Plan agreed.");
  await dA.getByRole("button", { name: "Save" }).click();
  await dB.locator(".comment-edited").waitFor();
  eq(await dB.locator(".comment-text").first().textContent(), "Plan agreed.", "the edited comment on bob's screen");

  // bob makes a checklist with two items; alice sees it live.
  await dB.getByLabel("New checklist name").fill("Steps");
  await dB.getByRole("button", { name: "Add checklist" }).click();
  const add = dB.getByLabel("Add an item to Steps");
  await add.fill("Write notes");
  await add.press("Enter");
  await dB.locator(".item-text", { hasText: "Write notes" }).waitFor();
  await add.fill("Ship it");
  await add.press("Enter");
  await dA.locator(".item-text", { hasText: "Ship it" }).waitFor();
  // alice ticks "Ship it" with the keyboard and moves it up with Alt+ArrowUp.
  const box = dA.getByLabel("Ship it", { exact: true });
  await box.focus();
  await A.keyboard.press("Space");
  await dB.locator(".checklist-item.is-done .item-text", { hasText: "Ship it" }).waitFor();
  await box.focus();
  await A.keyboard.press("Alt+ArrowUp");
  await B.waitForFunction(() => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) ===
    JSON.stringify(["Ship it", "Write notes"]));
  // bob drags "Write notes" above "Ship it" and back below it; alice sees both.
  await dB.locator(".checklist-item", { hasText: "Write notes" }).dragTo(dB.locator(".checklist-item", { hasText: "Ship it" }), { targetPosition: { x: 40, y: 3 } });
  await A.waitForFunction(() => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) ===
    JSON.stringify(["Write notes", "Ship it"]));
  await dB.locator(".checklist-item", { hasText: "Write notes" }).dragTo(dB.locator(".checklist-item", { hasText: "Ship it" }), { targetPosition: { x: 40, y: 20 } });
  await A.waitForFunction(() => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) ===
    JSON.stringify(["Ship it", "Write notes"]));
  // bob rewords an item in place; alice sees it.
  await dB.getByRole("button", { name: "Edit Write notes" }).click();
  await dB.getByLabel("Item text").fill("Write the notes");
  await dB.getByLabel("Item text").press("Enter");
  await dA.locator(".item-text", { hasText: "Write the notes" }).waitFor();
  // Markup in a checklist's name and items is shown as text on both screens.
  const evil = `<img src=x onerror="window.__xss=2">`;
  const xl = await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists`, { name: evil });
  await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists/${xl.id}/items`, { text: evil });
  for (const d of [dA, dB]) {
    await d.locator(".checklist-name", { hasText: evil }).waitFor();
    await d.locator(".item-text", { hasText: evil }).waitFor();
  }
  for (const P of [A, B]) {
    eq(await P.evaluate(() => [window.__xss ?? null, document.querySelectorAll("dialog.card-dialog img, dialog.card-dialog script").length]), [null, 0],
      `${P.label}: markup from checklist text reached the DOM`);
  }
  await call("alice", "DELETE", `/api/boards/${board.id}/cards/${c.id}/checklists/${xl.id}`);
  await dB.locator(".checklist-name", { hasText: evil }).waitFor({ state: "detached" });
  // Counts on both card faces.
  for (const P of [A, B]) {
    await P.keyboard.press("Escape");
    await P.locator("dialog.card-dialog").waitFor({ state: "detached" });
    await card(P, "Launch plan").locator(".checklist-count", { hasText: "1/2" }).waitFor();
    await card(P, "Launch plan").locator(".comment-count", { hasText: "1" }).waitFor();
  }
  await inOrder(A);
  await inOrder(B);
  const lists = await call("alice", "GET", `/api/boards/${board.id}/cards/${c.id}/checklists`);
  eq(lists.checklists[0].items.map((x) => [x.text, x.done]), [["Ship it", true], ["Write the notes", false]], "the checklist in the database");

  // Export through the API, import through the boards page's file picker.
  const doc = await call("alice", "GET", `/api/boards/${board.id}/export`);
  await A.goto("/");
  await A.locator("#import-file").setInputFiles({ name: "board.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(doc)) });
  await A.waitForURL((u) => /\/boards\//.test(u.pathname) && !u.pathname.endsWith(board.id));
  await A.waitForSelector('.conn[data-conn="live"]');
  await card(A, "Launch plan").locator(".checklist-count", { hasText: "1/2" }).waitFor();
  // A file that is not a board is refused with the server's reason.
  await A.goto("/");
  await A.locator("#import-file").setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from('{"hello": 1}') });
  await A.locator(".toast", { hasText: "neither a Corkboard export" }).waitFor();
};

// A realistic board for screenshots (and the eye of whoever reads them).
async function demoBoard() {
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

scenarios.screenshots = async () => {
  const { board } = await demoBoard();
  // Someone else is on the board, so presence shows.
  const B = await open("B(bob@1)", "bob", I1);
  await gotoBoard(B, board.id);
  const A = await open("A(alice@0)", "alice", I0, { viewport: { width: 1440, height: 860 } });
  await gotoBoard(A, board.id);
  await A.waitForFunction(() => document.querySelector(".presence").dataset.count === "1");
  await shot(A, "board-desktop");
  await card(A, "Billing: proration on plan change").click();
  await A.locator("dialog.card-dialog").waitFor();
  await A.locator("dialog.card-dialog .comment").first().waitFor();
  await A.locator("dialog.card-dialog .checklist-item").first().waitFor();
  await shot(A, "card-detail");
  await A.keyboard.press("Escape");
  await A.locator(".btn-share").click();
  await A.locator("dialog.members-dialog").waitFor();
  await shot(A, "members");
  await A.keyboard.press("Escape");
  await A.goto("/");
  await A.waitForSelector(".board-tile");
  await shot(A, "boards");

  const P = await open("P(alice phone)", "alice", I0, { viewport: { width: 390, height: 844 }, scale: 2, isMobile: true, hasTouch: true });
  await gotoBoard(P, board.id);
  await P.waitForFunction(() => document.querySelector(".presence").dataset.count === "1");
  await shot(P, "board-phone");
  await card(P, "Billing: proration on plan change").click();
  await P.locator("dialog.card-dialog .comment").first().waitFor();
  await shot(P, "card-detail-phone", { fullPage: true });
  await P.keyboard.press("Escape");
  const D = await open("D(alice dark)", "alice", I0, { viewport: { width: 1280, height: 800 }, colorScheme: "dark" });
  await gotoBoard(D, board.id);
  await shot(D, "board-dark");
  await card(D, "Billing: proration on plan change").click();
  await D.locator("dialog.card-dialog .comment").first().waitFor();
  await shot(D, "card-detail-dark");
  await D.keyboard.press("Escape");
  const L = await open("L(logged out)", null, I0, { viewport: { width: 1280, height: 800 } });
  await L.goto("/");
  await L.waitForSelector(".auth-card");
  await shot(L, "login");
};


// The pages docs/guide.md shows that the other scenarios do not leave on
// screen: the sign-up form, the account page with its sessions and tokens,
// and a card's menu opened from the keyboard.
scenarios.guide = async () => {
  const name = `erin${run}`;
  const password = "a long enough password";
  const S = await open("S(sign up@0)", null, I0, { viewport: { width: 1280, height: 720 } });
  await S.goto("/signup");
  await S.getByRole("button", { name: "Create account" }).waitFor();
  await S.getByLabel("Username").fill(name);
  await S.getByLabel("Password").fill(password);
  await shot(S, "signup", { clip: { x: 420, y: 80, width: 440, height: 560 } });
  await S.getByRole("button", { name: "Create account" }).click();
  await S.getByRole("heading", { name: "Your boards" }).waitFor();
  // A second session (a script's login), so the account page lists two.
  const login = await fetch(I0 + "/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json", "User-Agent": "curl/8.14.1" },
    body: JSON.stringify({ username: name, password }) });
  eq(login.status, 200, "a second login");
  await S.locator(".user-chip").click();
  await S.getByRole("menuitem", { name: "Account" }).click();
  await S.getByRole("heading", { name: "Your account" }).waitFor();
  for (const t of ["ci script", "deploy"]) {
    await S.getByLabel("Name", { exact: true }).fill(t);
    await S.getByRole("button", { name: "Create token" }).click();
    await S.getByLabel(`Secret of token ${t}`).waitFor();
  }
  const sessions = S.getByRole("list", { name: "Sessions" });
  eq(await sessions.locator(".account-item").count(), 2, "sessions listed");
  eq(await S.getByRole("list", { name: "API tokens" }).locator(".account-item").count(), 2, "tokens listed");
  await S.setViewportSize({ width: 1280, height: 1400 });
  await shot(S, "account-tokens", { clip: { x: 260, y: 60, width: 760, height: 1340 } });

  // The card menu, reached from the keyboard: "/" focuses the first card,
  // ArrowDown the next, "m" opens its menu.
  const { board } = await demoBoard();
  const A = await open("A(alice@0)", "alice", I0, { viewport: { width: 1280, height: 720 } });
  await gotoBoard(A, board.id);
  await A.keyboard.press("/");
  await A.keyboard.press("ArrowDown");
  await A.keyboard.press("m");
  const menu = A.getByRole("menu", { name: "Card actions" });
  await menu.getByRole("menuitem", { name: "Archive" }).waitFor();
  await shot(A, "card-menu", { clip: { x: 0, y: 0, width: 760, height: 640 } });
  await A.keyboard.press("Escape");
};

scenarios.auth = async () => {
  const name = `dana${run}`;
  const P = await open("P(new user@0)", null, I0);
  await P.goto("/");
  await P.waitForURL(/\/login$/);
  await P.getByRole("link", { name: "Create an account" }).click();
  await P.getByLabel("Username").fill(name);
  await P.getByLabel("Password").fill("short");
  await P.getByRole("button", { name: "Create account" }).click();
  await P.locator(".form-error").filter({ hasText: /password/i }).waitFor();
  await P.getByLabel("Password").fill("a long enough password");
  await P.getByRole("button", { name: "Create account" }).click();
  await P.getByRole("heading", { name: "Your boards" }).waitFor();
  // Create a board: it opens with three columns.
  await P.getByLabel("New board name").fill("Roadmap");
  await P.getByRole("button", { name: "Create board" }).click();
  await P.waitForSelector('.conn[data-conn="live"]');
  await P.waitForFunction(() => document.querySelectorAll(".column").length === 3);
  const boardId = P.url().split("/boards/")[1];
  // Rename it from the board's title.
  await P.locator(".board-name").click();
  await P.getByLabel("Board name", { exact: true }).fill("Roadmap 2027");
  await P.keyboard.press("Enter");
  await P.waitForFunction(() => document.querySelector(".board-name").textContent === "Roadmap 2027");
  // Invite bob as a viewer, then make him an editor.
  await P.locator(".btn-share").click();
  const dlg = P.locator("dialog.members-dialog");
  await dlg.getByPlaceholder("Username").fill("nobody-here");
  await dlg.getByRole("button", { name: "Invite" }).click();
  await dlg.locator(".form-error").filter({ hasText: /no user/i }).waitFor();
  await dlg.getByPlaceholder("Username").fill("bob");
  await dlg.getByLabel("Role", { exact: true }).selectOption("viewer");
  await dlg.getByRole("button", { name: "Invite" }).click();
  await dlg.getByLabel("Role of bob").waitFor();
  eq(await dlg.getByLabel("Role of bob").inputValue(), "viewer", "bob's role after the invitation");
  await dlg.getByLabel("Role of bob").selectOption("editor");
  await P.waitForFunction(() => [...document.querySelectorAll(".toast")].some((t) => t.textContent.includes("bob is now editor")));
  await dlg.getByRole("button", { name: "Done" }).click();
  // bob sees the board in his list, as an editor.
  const bobBoards = await call("bob", "GET", "/api/boards");
  const seen = bobBoards.boards.find((b) => b.id === boardId);
  assert(seen && seen.role === "editor" && seen.name === "Roadmap 2027", `bob's view of the board: ${JSON.stringify(seen)}`);
  // Log out, log in again, rename and delete the board from the list.
  await P.locator(".user-chip").click();
  await P.getByRole("menuitem", { name: "Log out" }).click();
  await P.waitForURL(/\/login$/);
  await P.getByLabel("Username").fill(name);
  await P.getByLabel("Password").fill("wrong password");
  await P.getByRole("button", { name: "Log in" }).click();
  await P.locator(".form-error").waitFor();
  await P.getByLabel("Password").fill("a long enough password");
  await P.getByRole("button", { name: "Log in" }).click();
  const tile = P.locator(".board-tile", { hasText: "Roadmap 2027" });
  await tile.waitFor();
  await tile.getByRole("button", { name: /Actions for board/ }).click();
  await P.getByRole("menuitem", { name: "Rename" }).click();
  await P.getByLabel("Board name", { exact: true }).fill("Roadmap (old)");
  await P.keyboard.press("Enter");
  await P.locator(".board-tile", { hasText: "Roadmap (old)" }).waitFor();
  await P.locator(".board-tile", { hasText: "Roadmap (old)" }).getByRole("button", { name: /Actions for board/ }).click();
  await P.getByRole("menuitem", { name: "Delete board" }).click();
  await P.locator("dialog.modal").getByRole("button", { name: "Delete board" }).click();
  await P.locator(".board-tile").first().waitFor({ state: "detached" });
  const res = await fetch(`${I0}/api/boards/${boardId}`, { headers: { Authorization: `Bearer ${U.bob.session}` } });
  eq(res.status, 404, "the deleted board");
};

scenarios.reconnect = async () => {
  const { board, cols } = await newBoard("alice", `Reconnect ${run}`, ["Todo", "Doing", "Done"], { bob: "editor" });
  const seed = [];
  for (let i = 1; i <= 4; i++) seed.push(await addCard("alice", board.id, cols[0].id, `Card ${i}`));
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  let n = 0;
  async function edits(k, del = true) {
    // A mix of what people do, through A's page and the API.
    for (let i = 0; i < k; i++) {
      n++;
      const c = await addCard("alice", board.id, cols[n % 3].id, `Added while B was away ${n}`, { labels: n % 2 ? ["late"] : [] });
      await call("alice", "PATCH", `/api/boards/${board.id}/cards/${c.id}`, { title: `Edited while B was away ${n}`, done: n % 3 === 0 });
      await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/move`, { column_id: cols[(n + 1) % 3].id, position: { to: "top" } });
    }
    const victim = del && seed.shift();
    if (victim) await call("alice", "DELETE", `/api/boards/${board.id}/cards/${victim.id}`);
  }

  // 1. B's network goes away and comes back.
  await B.context().setOffline(true);
  await B.waitForSelector('.conn[data-conn="offline"]');
  await edits(3);
  await sameAsDB(A, "alice", board.id);
  await B.context().setOffline(false);
  await B.waitForSelector('.conn[data-conn="live"]', { timeout: 20000 });
  await sameAsDB(B, "bob", board.id);
  log("offline and back: B shows the database state");

  // 2. B's instance shuts down (1001 going away) while A edits; B types meanwhile.
  await column(B, "Doing").locator(".add-card-btn").click();
  await B.keyboard.type("typed while reconnecting");
  await control("stop", 1);
  await B.waitForSelector('.conn[data-conn="reconnecting"]');
  await shot(B, "board-reconnecting", { clip: { x: 0, y: 0, width: 1360, height: 300 } });
  await edits(3);
  await control("start", 1);
  await B.waitForSelector('.conn[data-conn="live"]', { timeout: 30000 });
  await sameAsDB(B, "bob", board.id);
  eq(await column(B, "Doing").locator(".composer-input").inputValue(), "typed while reconnecting", "B's composer after the reconnect");
  log("instance restarted: B shows the database state and kept its typing");

  // 3. B's instance crashes (no close frame).
  await control("kill", 1);
  await B.waitForSelector('.conn[data-conn="reconnecting"]', { timeout: 20000 });
  await edits(2);
  await control("start", 1);
  await B.waitForSelector('.conn[data-conn="live"]', { timeout: 30000 });
  await sameAsDB(B, "bob", board.id);
  log("instance killed: B shows the database state");

  await inOrder(B); // every event exactly once, in order, across the three reconnects
  // 4. A resync (the server could not continue the stream): B reloads the
  // snapshot in place while A keeps editing, and keeps what B is typing.
  await card(B, "Card 4").focus();
  await B.keyboard.press("F2");
  await B.keyboard.press("End");
  await B.keyboard.type(" (B is typing)");
  await B.evaluate((id) => {
    const p = window.__corkboard.page;
    p.live.send({ type: "unsubscribe", board: id, id: "test" });
    p.onFrame({ type: "resync", board: id, reason: "too_far_behind" });
  }, board.id);
  await edits(2, false);
  await B.waitForFunction(() => !window.__corkboard.page.loading);
  eq(await B.locator(".inline-edit").inputValue(), "Card 4 (B is typing)", "B's inline editor after the resync");
  await B.keyboard.press("Escape");
  await sameAsDB(B, "bob", board.id);
  eq(await column(B, "Doing").locator(".composer-input").inputValue(), "typed while reconnecting", "B's composer after the resync");
  await inOrder(A);
  log("resync: B reloaded in place and kept its typing");
};

scenarios.xss = async () => {
  const payloads = [
    `<img src=x onerror=alert(1)>`,
    `<img src=x onerror="window.__xss=1">`,
    `<script>window.__xss=2</script>`,
    `"><svg onload=alert(3)>`,
    `<iframe src="javascript:alert(4)"></iframe>`,
    `javascript:alert(5)`,
    `<a href="javascript:alert(6)">click</a>`,
    `{{constructor.constructor('alert(7)')()}}`,
    `<style>*{display:none}</style>`,
  ];
  const { board, cols } = await newBoard("alice", payloads[0], [payloads[3], "Plain"], { bob: "editor" });
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  // Through the page (the composer) and through the API (labels, descriptions).
  for (const p of payloads.slice(0, 3)) {
    await column(A, "Plain").locator(".add-card-btn").click();
    await A.keyboard.type(p);
    await A.keyboard.press("Enter");
    await A.keyboard.press("Escape");
  }
  for (const p of payloads.slice(3)) await addCard("alice", board.id, cols[0].id, p, { labels: [p.slice(0, 40)], description: p });
  for (const P of [A, B]) {
    await sameAsDB(P, P === A ? "alice" : "bob", board.id);
    const titles = await P.locator(".card-title").allTextContents();
    for (const p of payloads) assert(titles.includes(p), `${P.label} does not show the title ${p} as text`);
    eq(await P.locator(".board-name").textContent(), payloads[0], `${P.label} board name`);
    const injected = await P.evaluate(() => ({
      xss: window.__xss,
      elements: document.querySelectorAll(".columns img, .columns script, .columns iframe, .columns a, .columns style, .topbar img, .columns svg:not(.icon)").length,
    }));
    eq(injected, { xss: undefined, elements: 0 }, `${P.label}: markup from user text reached the DOM`);
  }
  // The detail view shows the description as text too.
  await card(B, payloads[3]).click();
  const dlg = B.locator("dialog.card-dialog");
  await dlg.waitFor();
  eq(await dlg.getByLabel("Description").inputValue(), payloads[3], "description in the detail view");
  eq(await dlg.locator(".label").first().textContent(), payloads[3].slice(0, 40), "label in the detail view");
  await B.keyboard.press("Escape");
  await sleep(300); // give any injected handler its chance to run
};

scenarios.columns = async () => {
  const { board, cols } = await newBoard("alice", `Columns ${run}`, ["Todo", "Doing"], { bob: "editor" });
  for (const t of ["C1", "C2"]) await addCard("alice", board.id, cols[0].id, t);
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const order = (names) => JSON.stringify([...document.querySelectorAll(".column .column-name")].map((n) => n.textContent)) === JSON.stringify(names);
  // Add a column.
  await A.getByRole("button", { name: "Add column" }).click();
  await A.getByLabel("New column name").fill("Review");
  await A.getByLabel("New column name").press("Enter");
  await A.getByLabel("New column name").press("Escape");
  await B.waitForFunction(order, ["Todo", "Doing", "Review"], { timeout: 2000 });
  // Rename one.
  await column(A, "Doing").locator(".column-name").click();
  await A.getByLabel("Column name", { exact: true }).fill("In progress");
  await A.getByLabel("Column name", { exact: true }).press("Enter");
  await B.waitForFunction(order, ["Todo", "In progress", "Review"], { timeout: 2000 });
  // Reorder with the menu's button, then with the keyboard.
  await A.getByRole("button", { name: "Actions for column Review" }).click();
  await A.getByRole("menuitem", { name: "Move left" }).click();
  await B.waitForFunction(order, ["Todo", "Review", "In progress"], { timeout: 2000 });
  await column(A, "Todo").locator(".column-name").focus();
  await A.keyboard.press("Alt+ArrowRight");
  await B.waitForFunction(order, ["Review", "Todo", "In progress"], { timeout: 2000 });
  // Archive a card, and undo it.
  await card(A, "C1").hover();
  await card(A, "C1").locator(".card-more").click();
  await A.getByRole("menuitem", { name: "Archive" }).click();
  await B.waitForFunction(has.noCard, "C1", { timeout: 2000 });
  assert((await snapshot("alice", board.id)).cards.find((c) => c.title === "C1").archived, "C1 archived in the database");
  await A.locator(".toast").getByRole("button", { name: "Undo" }).click();
  await B.waitForFunction(has.order, ["Todo", ["C1", "C2"]], { timeout: 2000 });
  // Delete a column whose cards move to another.
  await A.getByRole("button", { name: "Actions for column Todo" }).click();
  await A.getByRole("menuitem", { name: "Delete column" }).click();
  const dlg = A.locator("dialog.modal");
  await dlg.getByLabel("Move the cards to").selectOption({ label: "In progress" });
  await dlg.getByRole("button", { name: "Move cards and delete" }).click();
  await B.waitForFunction(order, ["Review", "In progress"], { timeout: 2000 });
  await B.waitForFunction(has.order, ["In progress", ["C1", "C2"]], { timeout: 2000 });
  await sameAsDB(A, "alice", board.id);
  await sameAsDB(B, "bob", board.id);
  await inOrder(B);
};

scenarios.keyboard = async () => {
  const { board, cols } = await newBoard("alice", `Keys ${run}`, ["Todo", "Doing"]);
  for (const t of ["K1", "K2", "K3"]) await addCard("alice", board.id, cols[0].id, t);
  await addCard("alice", board.id, cols[1].id, "D1");
  const A = await open("A(alice@0)", "alice", I0);
  await gotoBoard(A, board.id);
  const focused = () => A.evaluate(() => document.activeElement && document.activeElement.querySelector && (document.activeElement.querySelector(".card-title") || {}).textContent);
  // Tab to the skip link, jump to the cards, walk down.
  await A.keyboard.press("Tab");
  eq(await A.evaluate(() => document.activeElement.textContent), "Skip to cards", "first Tab stop");
  await A.keyboard.press("Enter");
  eq(await focused(), "K1", "focus after the skip link");
  await A.keyboard.press("ArrowDown");
  eq(await focused(), "K2", "focus after ArrowDown");
  // Alt+ArrowDown moves K2 below K3.
  await A.keyboard.press("Alt+ArrowDown");
  await A.waitForFunction(has.order, ["Todo", ["K1", "K3", "K2"]]);
  eq(await focused(), "K2", "focus stays on the moved card");
  await sameAsDB(A, "alice", board.id);
  // Ctrl+ArrowRight moves it to Doing, at the same height (clamped: bottom).
  await A.keyboard.press("Control+ArrowRight");
  await A.waitForFunction(has.order, ["Doing", ["D1", "K2"]]);
  eq(await focused(), "K2", "focus after moving across");
  // Alt+ArrowUp: to the top of Doing.
  await A.keyboard.press("Alt+ArrowUp");
  await A.waitForFunction(has.order, ["Doing", ["K2", "D1"]]);
  await sameAsDB(A, "alice", board.id);
  // Enter opens the detail view; Escape closes it and focus comes back.
  await A.keyboard.press("Enter");
  await A.locator("dialog.card-dialog").waitFor();
  await A.keyboard.press("Escape");
  await A.locator("dialog.card-dialog").waitFor({ state: "detached" });
  eq(await focused(), "K2", "focus after closing the detail view");
  // The card menu by keyboard: "m", arrows, Enter.
  await A.keyboard.press("m");
  await A.getByRole("menu").waitFor();
  await A.keyboard.press("ArrowDown"); // Edit title
  await A.keyboard.press("ArrowDown"); // Mark done
  await A.keyboard.press("Enter");
  await A.waitForFunction(has.done, "K2");
  await sameAsDB(A, "alice", board.id);
  const snap = await snapshot("alice", board.id);
  const k2 = snap.cards.find((c) => c.title === "K2");
  assert(k2.column_id === cols[1].id && k2.done, "K2 in Doing and done in the database");
};

scenarios.dragdrop = async () => {
  const { board, cols } = await newBoard("alice", `Drag ${run}`, ["Todo", "Doing"], { bob: "editor" });
  for (const t of ["D1", "D2", "D3"]) await addCard("alice", board.id, cols[0].id, t);
  for (const t of ["E1", "E2"]) await addCard("alice", board.id, cols[1].id, t);
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  async function drag(title, targetTitle, where) {
    const from = await card(A, title).boundingBox();
    const to = await card(A, targetTitle).boundingBox();
    const x = to.x + to.width / 2;
    const y = where === "above" ? to.y + 4 : to.y + to.height - 4;
    await A.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await A.mouse.down();
    await A.mouse.move(from.x + from.width / 2 + 10, from.y + from.height / 2 + 10, { steps: 3 });
    await A.mouse.move(x, y, { steps: 12 });
    await A.waitForSelector(".drop-placeholder");
    return async () => { await A.mouse.up(); };
  }
  // D1 into Doing, between E1 and E2.
  let drop = await drag("D1", "E2", "above");
  await shot(A, "board-dragging");
  await drop();
  await A.waitForFunction(has.order, ["Doing", ["E1", "D1", "E2"]]);
  await B.waitForFunction(has.order, ["Doing", ["E1", "D1", "E2"]], { timeout: 2000 });
  await sameAsDB(A, "alice", board.id);
  // D3 to the top of Todo.
  drop = await drag("D3", "D2", "above");
  await drop();
  await A.waitForFunction(has.order, ["Todo", ["D3", "D2"]]);
  await sameAsDB(A, "alice", board.id);
  await sameAsDB(B, "bob", board.id);
  // Escape cancels a drag.
  drop = await drag("E2", "D3", "above");
  await A.keyboard.press("Escape");
  await A.mouse.up();
  await A.waitForSelector(".drop-placeholder", { state: "detached" });
  await sleep(300);
  await sameAsDB(A, "alice", board.id);
  eq((await shown(A))[1].cards.map((c) => c.title), ["E1", "D1", "E2"], "Doing after a cancelled drag");
};

scenarios.conflict = async () => {
  const { board, cols } = await newBoard("alice", `Conflict ${run}`, ["Todo"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, "Spec", { description: "Version 1" });
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const desc = async () => (await snapshot("alice", board.id)).cards.find((x) => x.id === c.id).description;

  async function aEdits(text) {
    await card(A, "Spec").click();
    const dlg = A.locator("dialog.card-dialog");
    await dlg.waitFor();
    await dlg.getByLabel("Description").fill(text);
    return dlg;
  }
  async function bSaves(text) {
    await card(B, "Spec").click();
    const dlg = B.locator("dialog.card-dialog");
    await dlg.waitFor();
    await dlg.getByLabel("Description").fill(text);
    await dlg.getByRole("button", { name: "Save", exact: true }).click();
    await B.waitForFunction(() => window.__corkboard.pending === 0);
    // The event can confirm the change before the PATCH's answer arrives;
    // until that answer, Escape keeps the dialog open ("Save or cancel your
    // description first"). The save is done when its buttons go away.
    await dlg.locator(".cd-desc-actions").waitFor({ state: "hidden" });
    await B.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
  }

  // 1. Only another field changed meanwhile: the save goes through.
  let dlg = await aEdits("Version 2 by alice");
  await call("bob", "PATCH", `/api/boards/${board.id}/cards/${c.id}`, { labels: [await labelId("bob", board.id, "spec")] }, I1);
  await A.waitForFunction(has.label, ["Spec", "spec"]);
  await dlg.getByRole("button", { name: "Save", exact: true }).click();
  await A.waitForFunction(() => window.__corkboard.pending === 0);
  eq(await desc(), "Version 2 by alice", "description after a save over a label change");
  assert(await dlg.locator(".conflict").isHidden(), "no conflict shown when only the labels changed");
  await A.keyboard.press("Escape");

  // 2. Both changed the description: A sees both versions and keeps hers.
  dlg = await aEdits("Version 3 by alice");
  await bSaves("Version 3 by bob");
  await dlg.locator(".cd-note").waitFor(); // A is told while typing
  await dlg.getByRole("button", { name: "Save", exact: true }).click();
  const conflict = dlg.locator(".conflict");
  await conflict.waitFor();
  eq(await conflict.locator(".conflict-mine .conflict-text").textContent(), "Version 3 by alice", "A's version in the conflict");
  eq(await conflict.locator(".conflict-theirs .conflict-text").textContent(), "Version 3 by bob", "B's version in the conflict");
  eq(await desc(), "Version 3 by bob", "nothing was overwritten before A chose");
  await shot(A, "conflict");
  await conflict.getByRole("button", { name: "Keep mine" }).click();
  await A.waitForFunction(() => window.__corkboard.pending === 0);
  await sleep(100);
  eq(await desc(), "Version 3 by alice", "description after Keep mine");
  await A.keyboard.press("Escape");
  await card(B, "Spec").click();
  await B.locator("dialog.card-dialog").getByLabel("Description").waitFor();
  await B.waitForFunction(() => document.querySelector("dialog.card-dialog .cd-desc").value === "Version 3 by alice");
  await B.keyboard.press("Escape");

  // 3. Again, and A takes B's version.
  dlg = await aEdits("Version 4 by alice");
  await bSaves("Version 4 by bob");
  await dlg.getByRole("button", { name: "Save", exact: true }).click();
  await dlg.locator(".conflict").waitFor();
  await dlg.locator(".conflict").getByRole("button", { name: "Use theirs" }).click();
  eq(await dlg.getByLabel("Description").inputValue(), "Version 4 by bob", "A's field after Use theirs");
  await sleep(200);
  eq(await desc(), "Version 4 by bob", "description after Use theirs");
  await A.keyboard.press("Escape");
};

scenarios.rollback = async () => {
  const { board, cols } = await newBoard("alice", `Rollback ${run}`, ["Todo", "Doing"]);
  for (const t of ["R1", "R2"]) await addCard("alice", board.id, cols[0].id, t);
  const A = await open("A(alice@0)", "alice", I0);
  await gotoBoard(A, board.id);
  // The server refuses a move (as it would a stale neighbour): A's card goes
  // back where it was, and A is told why.
  await A.route("**/api/boards/*/cards/*/move", (route) => setTimeout(() => route.fulfill({
    status: 409, contentType: "application/problem+json",
    body: JSON.stringify({ type: "https://corkboard.dev/problems/conflict", title: "Conflict", status: 409, code: "conflict", detail: "no room left between the neighbours: try again" }),
  }), 300));
  await card(A, "R1").focus();
  await A.keyboard.press("Alt+ArrowRight");
  await A.waitForFunction(has.order, ["Doing", ["R1"]]); // optimistic
  await A.locator(".toast-error").filter({ hasText: "no room left between the neighbours" }).waitFor();
  await A.waitForFunction(has.order, ["Todo", ["R1", "R2"]]); // rolled back
  await A.unroute("**/api/boards/*/cards/*/move");
  // A real refusal from the server: a title over the limit.
  await A.evaluate(() => {
    const p = window.__corkboard.page;
    const id = [...p.cardEls.keys()][0];
    p.patchCard(id, { title: "x".repeat(201) });
  });
  await A.locator(".toast-error").filter({ hasText: /title.*200/ }).waitFor();
  await sameAsDB(A, "alice", board.id);
  // A viewer sees the board but cannot change it.
  await call("alice", "POST", `/api/boards/${board.id}/members`, { username: "dave", role: "viewer" });
  const V = await open("V(dave@1)", "dave", I1);
  await gotoBoard(V, board.id);
  assert(await V.locator(".add-card-btn").first().isHidden(), "a viewer has no Add a card button");
  await sameAsDB(V, "dave", board.id);
};

scenarios.large = async () => {
  const { board, cols } = await newBoard("alice", `Large ${run}`, ["Backlog", "Next", "Doing", "Review", "Done"],
    { bob: "editor", carol: "editor", dave: "editor", erin: "editor", wes: "editor", wyn: "editor", wim: "editor", wolf: "editor", wren: "editor" });
  // 1,000 cards, from five users at once (each user's rate limit is separate).
  const writers = ["alice", "bob", "carol", "dave", "erin", "wes", "wyn", "wim", "wolf", "wren"];
  let made = 0;
  const t1 = Date.now();
  await Promise.all(writers.map(async (w, wi) => {
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => addCard(w, board.id, cols[(i + j) % 5].id,
        `Card ${wi * 100 + i + j + 1}: ${["Fix", "Write", "Review", "Plan", "Ship"][j % 5]} ${["the login flow", "release notes", "billing", "search", "the API docs"][(i / 10) % 5]}`,
        { labels: j % 3 === 0 ? [["backend", "design", "docs"][j % 3 === 0 ? (i / 10) % 3 : 0]] : [] })));
      made += 10;
    }
  }));
  log(`seeded ${made} cards in ${Date.now() - t1} ms`);
  const A = await open("A(alice@0)", "alice", I0, { viewport: { width: 1440, height: 900 } });
  const t2 = Date.now();
  await gotoBoard(A, board.id);
  await A.waitForFunction(() => document.querySelectorAll(".card").length === 1000);
  log(`page with 1000 cards live in ${Date.now() - t2} ms`);
  await A.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: "longtask", buffered: false });
  });
  const before = await A.evaluate(() => window.__corkboard.stats);
  // 120 changes from someone else, as fast as the server takes them.
  const snap = await snapshot("bob", board.id);
  const ids = snap.cards.map((c) => c.id);
  const t3 = Date.now();
  await Promise.all(["bob", "carol", "dave"].map(async (w, wi) => {
    for (let i = 0; i < 40; i++) {
      const id = ids[wi * 300 + i * 7];
      if (i % 2) await call(w, "PATCH", `/api/boards/${board.id}/cards/${id}`, { title: `Renamed ${wi}-${i}`, done: i % 4 === 1 });
      else await call(w, "POST", `/api/boards/${board.id}/cards/${id}/move`, { column_id: cols[(i + wi) % 5].id, position: { to: "top" } });
    }
  }));
  await sameAsDB(A, "alice", board.id, 10000);
  log(`120 remote changes applied and shown in ${Date.now() - t3} ms`);
  const after = await A.evaluate(() => ({ stats: window.__corkboard.stats, long: window.__long }));
  const applies = after.stats.applies - before.applies;
  const mean = (after.stats.totalMs - before.totalMs) / Math.max(1, applies);
  log(`render per change: ${applies} updates, mean ${mean.toFixed(2)} ms, max ${after.stats.maxMs.toFixed(1)} ms (includes the initial render); long tasks during the burst: ${after.long.length} (${after.long.map((d) => Math.round(d)).join(", ")} ms)`);
  assert(mean < 8, `a change costs ${mean.toFixed(2)} ms to render on average: too slow for a smooth board`);
  assert(after.long.filter((d) => d > 100).length === 0, `long tasks over 100 ms while changes arrived: ${after.long.join(", ")}`);
  await inOrder(A);
  // Scrolling a long column and opening a card stay quick.
  const t4 = Date.now();
  await card(A, "Renamed 0-1").click();
  await A.locator("dialog.card-dialog").waitFor();
  log(`opened a card in ${Date.now() - t4} ms`);
  await A.keyboard.press("Escape");
  await shot(A, "board-large");
};

// The account page: sessions and API tokens listed and revoked one by one;
// a password change ends the other sessions and revokes every token, and
// the page says so; names are shown as text.
scenarios.account = async () => {
  const name = `acct${run}`;
  const password = "password of the account";
  const post = async (path, body, secret) => {
    const res = await fetch(I0 + path, { method: "POST", headers: { "Content-Type": "application/json",
      ...(secret ? { Authorization: `Bearer ${secret}` } : {}) }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) fail(`POST ${path}: ${res.status} ${text}`);
    return { data: text ? JSON.parse(text) : null, secret: (res.headers.get("set-cookie") || "").match(/corkboard_session=([^;]+)/)?.[1] };
  };
  const status = async (path, secret) => (await fetch(I0 + path, { headers: { Authorization: `Bearer ${secret}` } })).status;
  const first = (await post("/api/auth/signup", { username: name, password })).secret;
  const other = (await post("/api/auth/login", { username: name, password })).secret;
  const third = (await post("/api/auth/login", { username: name, password })).secret;
  const evil = '<img src=x onerror="window.__xss=1">';
  const t1 = (await post("/api/auth/tokens", { name: "ci script" }, first)).data;
  const t2 = (await post("/api/auth/tokens", { name: evil }, first)).data;
  U[name] = { session: first };
  const P = await open("P(account@0)", name, I0);
  await P.goto("/");
  await P.getByRole("heading", { name: "Your boards" }).waitFor();
  await P.locator(".user-chip").click();
  await P.getByRole("menuitem", { name: "Account" }).click();
  await P.waitForURL(/\/account$/);
  await P.getByRole("heading", { name: "Your account" }).waitFor();
  const tokens = P.getByRole("list", { name: "API tokens" });
  const sessions = P.getByRole("list", { name: "Sessions" });
  await tokens.getByText(evil, { exact: true }).waitFor();
  await tokens.getByText("ci script", { exact: true }).waitFor();
  eq(await sessions.locator(".account-item").count(), 3, "sessions listed");
  eq(await sessions.locator(".badge", { hasText: "This session" }).count(), 1, "the current session is marked");
  // Revoke one token from the page: it stops working.
  await tokens.getByRole("button", { name: "Revoke token ci script" }).click();
  await P.locator("dialog.modal").getByRole("button", { name: "Revoke token" }).click();
  await tokens.getByText("ci script", { exact: true }).waitFor({ state: "detached" });
  eq(await status("/api/auth/me", t1.token), 401, "the revoked token");
  eq(await status("/api/auth/me", t2.token), 200, "the other token");
  // End one other session from the page.
  const end = sessions.getByRole("button", { name: /^End session/ }).first();
  await end.click();
  await P.locator("dialog.modal").getByRole("button", { name: "End session" }).click();
  await P.waitForFunction(() => document.querySelectorAll('[aria-label="Sessions"] .account-item').length === 2);
  const alive = [await status("/api/auth/me", other), await status("/api/auth/me", third)].sort();
  eq(alive, [200, 401], "one of the two other sessions ended");
  // Create a token: its secret is shown once, and works.
  await P.getByLabel("Name", { exact: true }).fill("deploy");
  await P.getByRole("button", { name: "Create token" }).click();
  const secretField = P.getByLabel("Secret of token deploy");
  await secretField.waitFor();
  const secret = await secretField.inputValue();
  assert(secret.startsWith("cbt_"), `shown secret ${secret}`);
  eq(await status("/api/auth/me", secret), 200, "the new token");
  await tokens.getByText("deploy", { exact: true }).waitFor();
  // A wrong current password is refused, with the reason.
  await P.getByLabel("Current password").fill("not the password");
  await P.getByLabel("New password").fill("a brand new password");
  await P.getByRole("button", { name: "Change password" }).click();
  await P.locator(".account-form .form-error").filter({ hasText: /current/i }).waitFor();
  // The right one: the page says what was revoked, and it was.
  await P.getByLabel("Current password").fill(password);
  await P.getByLabel("New password").fill("a brand new password");
  await P.getByRole("button", { name: "Change password" }).click();
  const result = P.locator(".account-result");
  await result.waitFor();
  eq(await result.textContent(), "Password changed: ended 1 other session; revoked 2 API tokens. This session stays logged in.",
    "the password change's result");
  for (const [what, s] of [["the token made before", t2.token], ["the token made on the page", secret], ["the other sessions", other], ["the third session", third]]) {
    eq(await status("/api/auth/me", s), 401, `${what} after the password change`);
  }
  eq(await status("/api/auth/me", first), 200, "the session that changed the password");
  await P.waitForFunction(() => document.querySelectorAll('[aria-label="API tokens"] .account-item').length === 0);
  await P.waitForFunction(() => document.querySelectorAll('[aria-label="Sessions"] .account-item').length === 1);
  eq(await P.evaluate(() => window.__xss || 0), 0, "a token name ran as HTML");
  await shot(P, "account");
};

scenarios.webhooks = async () => {
  // The servers refuse loopback destinations (the default): deliveries fail
  // with the refusal, and nothing leaves the machine.
  const { board, cols } = await newBoard("alice", `Hooks ${run}`, ["Todo"], { bob: "editor" });
  const A = await open("A(alice@0)", "alice", I0);
  await gotoBoard(A, board.id);
  await A.getByRole("button", { name: "Board actions" }).click();
  await A.getByRole("menuitem", { name: "Webhooks" }).click();
  const dlg = A.locator("dialog.webhooks-dialog");
  await dlg.locator(".webhook-list").getByText("No webhooks yet.").waitFor();
  await dlg.getByRole("textbox", { name: "Add a webhook" }).fill("ftp://example.com/hook");
  await dlg.getByRole("button", { name: "Add", exact: true }).click();
  await dlg.locator(".form-error").filter({ hasText: /http or https/ }).waitFor();
  const url = "http://127.0.0.1:9/hook?q=<img/src=x/onerror=alert(1)>";
  await dlg.getByRole("textbox", { name: "Add a webhook" }).fill(url);
  await dlg.getByLabel("Event kinds (none selected: all)").selectOption(["card.created"]);
  await dlg.getByRole("button", { name: "Add", exact: true }).click();
  const secret = await dlg.getByLabel("Signing secret").inputValue();
  assert(/^whsec_[A-Za-z0-9+/]{43}=$/.test(secret), `the secret shown: ${secret}`);
  const item = dlg.locator("li.webhook");
  await item.waitFor();
  eq(await item.locator(".webhook-url").textContent(), url, "the webhook's URL, as text");
  eq(await dlg.locator("img").count(), 0, "markup in the URL made no element");
  const listed = await call("alice", "GET", `/api/boards/${board.id}/webhooks`);
  assert(!JSON.stringify(listed).includes(secret), "the list holds no secret");
  // A test event: refused at dial time, and logged.
  await item.getByRole("button", { name: "Send test event" }).click();
  const entry = item.locator(".webhook-delivery", { hasText: "webhook.test" });
  await item.getByRole("button", { name: "Hide deliveries" }).waitFor();
  for (let i = 0; !(await entry.count()) && i < 40; i++) {
    await sleep(250);
    if (!(await entry.count())) await item.getByRole("button", { name: "Refresh" }).click();
  }
  await entry.first().waitFor();
  assert((await entry.first().textContent()).includes("address not allowed"), `the logged refusal: ${await entry.first().textContent()}`);
  await entry.first().getByRole("button", { name: "Redeliver" }).click();
  await A.waitForFunction(() => [...document.querySelectorAll(".toast")].some((t) => t.textContent.includes("Redelivery queued")));
  await shot(A, "webhooks");
  // A new secret, shown once in place of the first.
  await item.getByRole("button", { name: "New secret" }).click();
  await A.locator("dialog.modal", { hasText: "Replace the secret?" }).getByRole("button", { name: "Replace" }).click();
  await A.waitForFunction((old) => { const f = document.querySelector(".webhook-secret-value"); return f && f.value !== old; }, secret);
  assert(/^whsec_/.test(await dlg.getByLabel("Signing secret").inputValue()), "the new secret");
  // Off, then deleted.
  await item.getByRole("checkbox").uncheck();
  await item.locator(".webhook-status", { hasText: "turned off by an owner" }).waitFor();
  await item.getByRole("button", { name: "Delete" }).click();
  await A.locator("dialog.modal", { hasText: "Delete webhook?" }).getByRole("button", { name: "Delete" }).click();
  await dlg.locator(".webhook-list").getByText("No webhooks yet.").waitFor();
  await dlg.getByRole("button", { name: "Done" }).click();
  // An editor has no webhooks to manage.
  const B = await open("B(bob@1)", "bob", I1);
  await gotoBoard(B, board.id);
  await B.getByRole("button", { name: "Board actions" }).click();
  assert(await B.getByRole("menuitem", { name: "Webhooks" }).isDisabled(), "the Webhooks item is disabled for an editor");
  const res = await fetch(`${I1}/api/boards/${board.id}/webhooks`, { headers: { Authorization: `Bearer ${U.bob.session}` } });
  eq(res.status, 403, "an editor listing webhooks");
  void cols;
};

// Board labels: cards show the board's labels as colour chips; A (on
// instance 0) renames and recolours a label in the label manager and B (on
// instance 1) sees the chip change live on every card that has it; a
// deleted label leaves every card; B makes a label in the card dialog and A
// sees it. A label name that is an XSS payload stays text. The chip colours
// have enough contrast in light and dark. And a card with everything on it
// (labels, due, description, checklist, comments, assignees, and — served
// here by the page's network layer, as branch attach's server will —
// attachment count and cover), shot in light and dark.
scenarios.labels = async () => {
  const xss = `<img src=x onerror="window.__xss=9">`;
  const { board, cols } = await newBoard("alice", `Labels ${run}`, ["Todo", "Done"], { bob: "editor", carol: "editor", dave: "editor" });
  const B_ = `/api/boards/${board.id}`;
  const bug = await call("alice", "POST", `${B_}/labels`, { name: "Bug", color: "red" });
  const feature = await call("alice", "POST", `${B_}/labels`, { name: "Feature", color: "green" });
  const evil = await call("alice", "POST", `${B_}/labels`, { name: xss, color: "pink" });
  const day = (n) => { const d = new Date(); d.setDate(d.getDate() + n); return d.toISOString().slice(0, 10); };
  const fix = await call("alice", "POST", `${B_}/cards`, { column_id: cols[0].id, title: "Fix the login flow", labels: [bug.id, evil.id], due: day(-2) });
  const docs = await call("alice", "POST", `${B_}/cards`, { column_id: cols[0].id, title: "Write the docs", labels: [feature.id, bug.id], due: day(-2), done: true });
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const chipsAre = ([title, want]) => {
    const got = [...document.querySelectorAll(".card")].filter((k) => k.querySelector(".card-title").textContent === title)
      .flatMap((k) => [...k.querySelectorAll(".card-meta .label")].map((l) => `${l.textContent}=${l.className.replace(/.*lc-/, "")}`));
    return JSON.stringify(got) === JSON.stringify(want);
  };
  for (const P of [A, B]) {
    await P.waitForFunction(chipsAre, ["Fix the login flow", ["Bug=red", `${xss}=pink`]]);
    await P.waitForFunction(chipsAre, ["Write the docs", ["Feature=green", "Bug=red"]]);
    // Due: red when past and not done, green when done.
    eq(await card(P, "Fix the login flow").locator(".due").getAttribute("class"), "due overdue", `${P.label}: an overdue card's due date`);
    eq(await card(P, "Write the docs").locator(".due").getAttribute("class"), "due is-done", `${P.label}: a done card's due date`);
    // The name is the chip's text and its tooltip.
    eq(await card(P, "Fix the login flow").locator(".label").first().getAttribute("title"), "Bug (red)", `${P.label}: chip tooltip`);
  }

  // A renames and recolours Bug in the label manager; B sees both cards change.
  await A.getByRole("button", { name: "Board actions" }).click();
  await A.getByRole("menuitem", { name: "Labels" }).click();
  const mgr = A.locator("dialog.labels-dialog");
  await mgr.waitFor();
  const name = mgr.getByLabel("Name of label Bug", { exact: true });
  await name.fill("Defect");
  let start = Date.now();
  await name.press("Enter");
  await within(B, 1000, start, "B sees Bug renamed Defect on both cards", ([a, b]) => {
    const on = (title) => [...document.querySelectorAll(".card")].filter((k) => k.querySelector(".card-title").textContent === title)
      .flatMap((k) => [...k.querySelectorAll(".card-meta .label")].map((l) => l.textContent));
    return on(a).includes("Defect") && on(b).includes("Defect") && !on(a).includes("Bug");
  }, ["Fix the login flow", "Write the docs"]);
  await mgr.getByLabel("Colour of label Defect", { exact: true }).selectOption("purple");
  start = Date.now();
  await within(B, 1000, start, "B sees Defect recoloured purple", chipsAre, ["Fix the login flow", ["Defect=purple", `${xss}=pink`]]);
  await B.waitForFunction(chipsAre, ["Write the docs", ["Feature=green", "Defect=purple"]]);
  await shot(A, "labels-manager");

  // A deletes Feature: one event takes it off the card, on both screens.
  await mgr.getByRole("button", { name: "Delete label Feature" }).click();
  await A.locator("dialog.modal").getByRole("button", { name: "Delete", exact: true }).click();
  start = Date.now();
  await within(B, 1000, start, "B sees Feature gone", chipsAre, ["Write the docs", ["Defect=purple"]]);
  await mgr.getByRole("button", { name: "Done" }).click();

  // B makes a label in the card dialog; it goes on the card; A sees it.
  await card(B, "Write the docs").click();
  const dlg = B.locator("dialog.card-dialog");
  await dlg.waitFor();
  await dlg.getByRole("button", { name: "Labels", exact: true }).click();
  await dlg.getByLabel("Name of the new label").fill("Urgent");
  await dlg.getByLabel("Colour of the new label").selectOption("sky");
  start = Date.now();
  await dlg.getByRole("button", { name: "Create", exact: true }).click();
  await within(A, 1000, start, "A sees B's new label on the card", chipsAre, ["Write the docs", ["Defect=purple", "Urgent=sky"]]);
  // ...and takes Defect off with the picker's checkbox.
  await dlg.locator(".label-option", { hasText: "Defect" }).locator("input").uncheck();
  await A.waitForFunction(chipsAre, ["Write the docs", ["Urgent=sky"]]);
  await dlg.locator(".label-option", { hasText: "Urgent" }).locator("input:checked").waitFor();
  await shot(B, "labels-card-dialog");
  await B.keyboard.press("Escape");

  // Nothing of the XSS label name ran or became markup.
  for (const P of [A, B]) {
    const injected = await P.evaluate(() => ({ xss: window.__xss, imgs: document.querySelectorAll(".columns img, dialog img").length }));
    eq(injected, { xss: undefined, imgs: 0 }, `${P.label}: the label name became markup`);
  }
  for (const P of [A, B]) await sameAsDB(P, P === A ? "alice" : "bob", board.id);
  const a = await inOrder(A), b = await inOrder(B);
  eq(b.map((x) => x.kind), a.map((x) => x.kind), "A and B applied different events");
  assert(a.some((x) => x.kind === "label.updated") && a.some((x) => x.kind === "label.deleted"), "label events applied");

  // Contrast of the ten chip colours, light and dark: at least 4.5:1.
  const D = await open("D(alice dark)", "alice", I0, { colorScheme: "dark", viewport: { width: 1280, height: 800 } });
  await gotoBoard(D, board.id);
  for (const P of [A, D]) {
    const ratios = await P.evaluate((colors) => {
      const lum = (rgb) => {
        const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
          v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const out = {};
      for (const c of colors) {
        const el = document.createElement("span");
        el.className = `label lc-${c}`;
        el.textContent = c;
        document.body.appendChild(el);
        const st = getComputedStyle(el);
        const [x, y] = [lum(st.color), lum(st.backgroundColor)];
        out[c] = Math.round(((Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05)) * 10) / 10;
        el.remove();
      }
      return out;
    }, ["green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "gray"]);
    log(`${P.label} chip contrast`, JSON.stringify(ratios));
    for (const [c, r] of Object.entries(ratios)) assert(r >= 4.5, `${P.label}: label colour ${c} has contrast ${r}:1, under 4.5:1`);
  }

  // A card with everything on it.
  const full = await call("alice", "POST", `${B_}/cards`, { column_id: cols[1].id, title: "Launch checklist for the Q3 release",
    description: "Everything that has to happen on launch day.", labels: [bug.id, evil.id], due: day(-1),
    assignees: [U.alice.id, U.bob.id, U.carol.id, U.dave.id] });
  for (const name of ["Design", "Marketing"]) await call("alice", "POST", `${B_}/labels`, { name, color: name === "Design" ? "blue" : "orange" });
  const snap0 = await snapshot("alice", board.id);
  const byName = (n) => snap0.labels.find((l) => l.name === n).id;
  const faceLabels = ["Defect", xss, "Design", "Marketing", "Urgent"];
  await call("alice", "PATCH", `${B_}/cards/${full.id}`, { labels: faceLabels.map(byName) });
  const list = await call("alice", "POST", `${B_}/cards/${full.id}/checklists`, { name: "Steps" });
  for (const [text, done] of [["Freeze", true], ["Tag", true], ["Deploy", false], ["Announce", false], ["Celebrate", false]]) {
    await call("alice", "POST", `${B_}/cards/${full.id}/checklists/${list.id}/items`, { text, done });
  }
  for (const [who, text] of [["bob", "Ready on my side."], ["carol", "Copy is final."], ["alice", "Go at 10:00."]]) {
    await call(who, "POST", `${B_}/cards/${full.id}/comments`, { text });
  }
  const coverId = "00000000-0000-4000-8000-00000000c0de";
  const png = Buffer.from(await D.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 480; c.height = 200;
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, 480, 200);
    grad.addColorStop(0, "#4f46e5"); grad.addColorStop(1, "#06b6d4");
    g.fillStyle = grad; g.fillRect(0, 0, 480, 200);
    g.fillStyle = "rgba(255,255,255,.9)"; g.font = "bold 36px sans-serif"; g.fillText("Q3 launch", 150, 112);
    return c.toDataURL("image/png").split(",")[1];
  }), "base64");
  let thumbs = 0;
  for (const [P, scheme] of [[await open("F(alice face)", "alice", I0, { viewport: { width: 1100, height: 700 }, scale: 2 }), "light"],
    [await open("G(alice face dark)", "alice", I0, { viewport: { width: 1100, height: 700 }, scale: 2, colorScheme: "dark" }), "dark"]]) {
    // The snapshot as a server with attachments gives it: the card has 2
    // attachments and an image as its cover.
    await P.route(`**/api/boards/${board.id}`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const k of body.cards) if (k.id === full.id) Object.assign(k, { attachment_count: 2, cover: coverId });
      await route.fulfill({ response: res, json: body });
    });
    await P.route(`**/api/boards/${board.id}/cards/${full.id}/attachments/${coverId}/thumbnail`, (route) => {
      thumbs++;
      return route.fulfill({ status: 200, contentType: "image/png", body: png });
    });
    await gotoBoard(P, board.id);
    const face = card(P, "Launch checklist for the Q3 release");
    await face.locator(".card-cover img").waitFor();
    await P.waitForFunction(() => { const i = document.querySelector(".card-cover img"); return i && i.complete && i.naturalWidth > 0; });
    eq(await face.locator(".card-cover img").getAttribute("loading"), "lazy", "the cover loads lazily");
    eq(await face.locator(".attachment-count").textContent(), "2", "attachment count");
    eq(await face.locator(".checklist-count").textContent(), "2/5", "checklist progress");
    eq(await face.locator(".comment-count").textContent(), "3", "comment count");
    eq(await face.locator(".assignees [role=img]").evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))),
      ["alice", "bob", "carol", "and dave"], "avatars named by username");
    eq(await face.locator(".card-meta .label").allTextContents(), faceLabels, "chips on the full card, in the card's order");
    await face.scrollIntoViewIfNeeded();
    await face.screenshot({ path: join(cfg.artifacts, `card-face-${scheme}.png`) });
    log("screenshot", join(cfg.artifacts, `card-face-${scheme}.png`));
  }
  assert(thumbs >= 2, "the cover thumbnail was requested");
  void fix; void docs;
};


// activity: what cardthings leaves out of issue 11's list. Two people on
// two instances; A comments and B sees it live on the card face (no dialog
// open) and in the board's activity panel; B ticks and reorders checklist
// items and A sees them live; the card's activity list (A) and the board's
// panel (B) show both people's changes, live, and page back ("Show
// older"); markup in a card title, a comment and a checklist item is text
// in both, and nothing is injected.
scenarios.activity = async () => {
  const evil = {
    title: `<img src=x onerror="window.__xss=1">Plan`,
    comment: `<script>window.__xss=2</script> looks good <b>bold</b>`,
    item: `<svg onload="window.__xss=3">Ship`,
  };
  const { board, cols } = await newBoard("alice", `Activity ${run}`, ["Doing", "Done"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, evil.title);
  const list = await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists`, { name: "Steps" });
  for (const text of ["Write tests", evil.item]) await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/checklists/${list.id}/items`, { text });
  // More than a page of the panel (30) before anyone looks.
  for (let i = 0; i < 30; i++) await addCard("alice", board.id, cols[1].id, `Filler ${i}`);

  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const texts = (P, sel) => P.evaluate((s) => [...document.querySelectorAll(s)].map((x) => x.querySelector(".act-text").textContent), sel);
  const waitEntry = async (P, sel, want, what) => {
    try {
      await P.waitForFunction(([s, w]) => [...document.querySelectorAll(s)].some((x) => x.querySelector(".act-text").textContent === w), [sel, want], { timeout: 10000, polling: 20 });
    } catch {
      fail(`${P.label}: ${what}: no entry ${JSON.stringify(want)} in ${JSON.stringify(await texts(P, sel))}`);
    }
  };
  const PANEL = ".activity-panel .act-entry", CARD = "dialog.card-dialog .cd-activity .act-entry";

  // bob opens the board's activity panel from the board menu: the newest
  // page, then older pages on demand.
  await B.getByRole("button", { name: "Board actions" }).click();
  await B.getByRole("menuitem", { name: "Activity" }).click();
  await B.locator(".activity-panel").waitFor();
  await waitEntry(B, PANEL, "alice added Filler 29 to Done", "the newest page");
  eq(await B.locator(PANEL).count(), 30, "entries of the panel's first page");
  await B.getByRole("button", { name: "Show older" }).click();
  await waitEntry(B, PANEL, "alice added the column Doing", "an older page");
  await waitEntry(B, PANEL, `alice added ${evil.title} to Doing`, "the card's creation");

  // alice opens the card and comments; bob sees the count on the card face
  // and the comment in his panel, live.
  await card(A, "Plan").click();
  const dA = A.locator("dialog.card-dialog");
  await waitEntry(A, CARD, "alice added this card to Doing", "the card's activity");
  await dA.getByLabel("New comment").fill(evil.comment);
  let start = Date.now();
  await dA.getByRole("button", { name: "Comment", exact: true }).click();
  await card(B, "Plan").locator(".comment-count", { hasText: "1" }).waitFor();
  log(`comment count on the other's card face in ${Date.now() - start} ms`);
  await waitEntry(B, PANEL, `alice commented on ${evil.title}`, "alice's comment");
  eq(await B.locator(PANEL).first().locator(".act-quote").textContent(), evil.comment, "the comment quoted in the panel");
  await waitEntry(A, CARD, "alice commented", "alice's own comment in her card activity");

  // bob opens the card, ticks "Write tests" and moves the other item up
  // with the keyboard; alice sees both in the checklist and the activity.
  await card(B, "Plan").click();
  const dB = B.locator("dialog.card-dialog");
  await dB.locator(".item-text", { hasText: "Write tests" }).waitFor();
  start = Date.now();
  await dB.getByLabel("Write tests", { exact: true }).check();
  await dA.locator(".checklist-item.is-done .item-text", { hasText: "Write tests" }).waitFor();
  log(`tick seen by the other in ${Date.now() - start} ms`);
  await waitEntry(A, CARD, "bob ticked Write tests", "bob's tick");
  const evilBox = dB.getByLabel(evil.item, { exact: true });
  await evilBox.focus();
  await B.keyboard.press("Alt+ArrowUp");
  await A.waitForFunction((want) => JSON.stringify([...document.querySelectorAll("dialog.card-dialog .item-text")].map((x) => x.textContent)) === want,
    JSON.stringify([evil.item, "Write tests"]));
  await waitEntry(A, CARD, `bob reordered ${evil.item}`, "bob's reorder");
  await B.keyboard.press("Escape");
  await dB.waitFor({ state: "detached" });
  await waitEntry(B, PANEL, `bob ticked Write tests on ${evil.title}`, "bob's own tick in his panel");
  await waitEntry(B, PANEL, `bob reordered ${evil.item} on ${evil.title}`, "bob's own reorder in his panel");

  // alice moves the card to Done from her dialog; both lists say so.
  await dA.getByRole("button", { name: "Move to next column" }).click();
  await waitEntry(A, CARD, "alice moved this card from Doing to Done", "the move in the card's activity");
  await waitEntry(B, PANEL, `alice moved ${evil.title} from Doing to Done`, "the move in the board's panel");
  await shot(B, "activity-panel");
  // Both people's changes, newest first, in alice's card activity.
  const mine = await texts(A, CARD);
  eq(mine.slice(0, 4), ["alice moved this card from Doing to Done", `bob reordered ${evil.item}`, "bob ticked Write tests", "alice commented"],
    "the newest entries of the card's activity");
  // The card's activity, read afresh, says the same (the server's prev).
  await A.keyboard.press("Escape");
  await dA.waitFor({ state: "detached" });
  await card(A, "Plan").click();
  await waitEntry(A, CARD, "alice moved this card from Doing to Done", "the move, reloaded");
  eq((await texts(A, CARD)).slice(0, 4), mine.slice(0, 4), "the card's activity reloaded from the server");
  await dA.locator(".cd-activity").scrollIntoViewIfNeeded();
  await shot(A, "activity-card");

  // Nothing of the markup ran or became an element.
  await sleep(300);
  for (const P of [A, B]) {
    eq(await P.evaluate(() => [window.__xss ?? null,
      document.querySelectorAll(".activity-panel img, .activity-panel script, .activity-panel svg:not(.icon), .activity-panel b, .cd-activity img, .cd-activity script, .cd-activity svg:not(.icon), .cd-activity b, .comment img, .comment script, .checklist-item svg:not(.icon)").length]),
    [null, 0], `${P.label}: markup from user text in the activity`);
  }
  await inOrder(A);
  await inOrder(B);
};

// allEvents reads the board's log after seq since.
async function allEvents(userName, boardId, since) {
  const out = [];
  for (;;) {
    const page = await call(userName, "GET", `/api/boards/${boardId}/events?since=${since}&limit=1000`);
    out.push(...page.events);
    if (!page.events.length || page.events.length < 1000) return out;
    since = page.events[page.events.length - 1].seq;
  }
}

// Edits that survive a dropped connection. A goes offline and makes twelve
// changes of every kind the page makes, and reloads the tab while the server
// is unreachable: the page loads (the service worker's copy of its files,
// the board as last seen) with every change still waiting. B meanwhile adds
// a card and deletes one A edited. Back online, A catches up, then sends its
// changes; the first answer is lost on the way (the page sends it again with
// the same key): every change is committed exactly once, in order, after
// B's, and both screens show the database; the edit of the deleted card is
// listed as not applied with its text, which copies. Then B, offline, loses
// access to the board: its waiting rename is listed as not applied.
scenarios.offline = async () => {
  const { board, cols } = await newBoard("alice", `Offline ${run}`, ["Todo", "Doing", "Done"], { bob: "editor" });
  for (const t of ["Alpha", "Beta", "Gamma", "Delta", "Old", "Doomed"]) await addCard("alice", board.id, cols[0].id, t);
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const before = (await snapshot("alice", board.id)).seq;
  const ctxA = A.context();
  await ctxA.grantPermissions(["clipboard-read", "clipboard-write"], { origin: I0 });

  await ctxA.setOffline(true);
  await A.waitForSelector('.conn[data-conn="offline"]');
  // 1-2. A card added, then renamed before it ever reached the server.
  await column(A, "Todo").locator(".add-card-btn").click();
  await A.keyboard.type("Written offline");
  await A.keyboard.press("Enter");
  await A.keyboard.press("Escape");
  await card(A, "Written offline").focus();
  await A.keyboard.press("F2");
  await A.keyboard.press("End");
  await A.keyboard.type(", renamed");
  await A.keyboard.press("Enter");
  // 3. A rename, 4. done, 5. a move, 6. archive, 7. delete.
  await card(A, "Alpha").focus();
  await A.keyboard.press("F2");
  await A.keyboard.press("End");
  await A.keyboard.type(" (offline)");
  await A.keyboard.press("Enter");
  await card(A, "Beta").locator(".card-check").click();
  await card(A, "Gamma").focus();
  await A.keyboard.press("Alt+ArrowRight");
  await A.waitForFunction(has.order, ["Doing", ["Gamma"]]);
  await card(A, "Old").hover();
  await card(A, "Old").locator(".card-more").click();
  await A.getByRole("menuitem", { name: "Archive" }).click();
  await card(A, "Delta").hover();
  await card(A, "Delta").locator(".card-more").click();
  await A.getByRole("menuitem", { name: "Delete" }).click();
  await A.locator("dialog.modal").getByRole("button", { name: "Delete card" }).click();
  // 8. A column renamed, 9. a column added.
  await column(A, "Done").locator(".column-name").click();
  await A.keyboard.press("Control+A");
  await A.keyboard.type("Shipped");
  await A.keyboard.press("Enter");
  await A.locator(".add-column-btn").click();
  await A.keyboard.type("Later");
  await A.keyboard.press("Enter");
  await A.keyboard.press("Escape");
  // 10. A comment and 11. a checklist, in the card's dialog.
  await card(A, "Alpha (offline)").click();
  const dA = A.locator("dialog.card-dialog");
  await dA.waitFor();
  const comment = `Written on a train ${run}`;
  await dA.getByLabel("New comment").fill(comment);
  await dA.getByRole("button", { name: "Comment", exact: true }).click();
  await dA.getByLabel("New checklist name").fill("Offline steps");
  await dA.getByRole("button", { name: "Add checklist" }).click();
  await A.keyboard.press("Escape");
  await dA.waitFor({ state: "detached" });
  // 12. A description of a card B deletes meanwhile.
  const words = `My careful words ${run}\nsecond line`;
  await card(A, "Doomed").click();
  await dA.waitFor();
  await dA.getByLabel("Description").fill(words);
  await dA.getByRole("button", { name: "Save" }).click();
  await dA.getByRole("button", { name: "Close" }).click();
  await dA.waitFor({ state: "detached" });

  const N = 12;
  await A.locator(".queue-pill", { hasText: `${N} changes waiting to be sent` }).waitFor();
  eq((await A.locator(".card.is-queued .card-title").allTextContents()).sort(),
    ["Written offline, renamed", "Alpha (offline)", "Beta", "Doomed", "Gamma"].sort(), "the cards marked as waiting");
  const owner = `${U.alice.id}/${board.id}`;
  await A.waitForFunction(async ([o, n]) => (await window.__corkboard.queue.store.all(o, "change")).length === n, [owner, N]);
  const keys = await A.evaluate(() => window.__corkboard.queue.entries.map((e) => e.opId));
  eq(new Set(keys).size, N, "one key per queued change");
  await A.evaluate(() => { document.querySelector(".board-scroller").scrollLeft = 0; });
  await shot(A, "offline-queued", { clip: { x: 0, y: 0, width: 1360, height: 400 } }); // docs/images/offline-queued.png
  log(`${N} changes queued offline and stored`);

  // The tab is reloaded while the server is unreachable (no network, and
  // A's instance down): the page comes from the service worker's copy, the
  // board as last seen here, with every change still waiting and marked.
  await control("stop", 0);
  await A.reload();
  await A.locator(".queue-pill", { hasText: `${N} changes waiting to be sent` }).waitFor();
  await A.waitForSelector('.conn[data-conn="offline"]');
  await A.waitForFunction(has.order, ["Todo", ["Alpha (offline)", "Beta", "Doomed", "Written offline, renamed"]]);
  await A.waitForFunction(has.order, ["Doing", ["Gamma"]]);
  eq((await A.locator(".card.is-queued .card-title").allTextContents()).sort(),
    ["Written offline, renamed", "Alpha (offline)", "Beta", "Doomed", "Gamma"].sort(), "the cards marked as waiting after the reload");
  eq(await A.locator(".column-name").allTextContents(), ["Todo", "Doing", "Shipped", "Later"], "the columns after the reload");
  await shot(A, "board-offline-reloaded", { clip: { x: 0, y: 0, width: 1360, height: 420 } });
  log("reloaded while the server was unreachable: the board and its waiting changes are back");

  // B, online, works meanwhile.
  const doomed = (await call("bob", "GET", `/api/boards/${board.id}`, undefined, I1)).cards.find((c) => c.title === "Doomed");
  await call("bob", "DELETE", `/api/boards/${board.id}/cards/${doomed.id}`, undefined, I1);
  await call("bob", "POST", `/api/boards/${board.id}/cards`, { column_id: cols[0].id, title: "Bob was here" }, I1);

  // The server and the network come back. A catches up with B's changes,
  // then sends its own; the first one's answer is cut off on the way.
  let cut = 0;
  await ctxA.route("**/api/boards/*/cards", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    if (cut++ === 0) { await route.fetch(); return route.abort("connectionreset"); }
    return route.continue();
  });
  await control("start", 0);
  const start = Date.now();
  await ctxA.setOffline(false);
  await A.locator(".queue-pill").waitFor({ state: "hidden", timeout: 30000 });
  log(`back online: caught up and drained ${N} changes in ${Date.now() - start} ms (one answer cut off and sent again)`);
  assert(cut >= 2, `the cut-off create was sent again (${cut} attempts)`);

  // Every change exactly once, in order, after B's.
  const events = await allEvents("alice", board.id, before);
  const mine = events.filter((e) => keys.includes(e.op_id));
  eq(mine.map((e) => e.op_id), keys.filter((k) => mine.some((e) => e.op_id === k)), "A's changes in the order made");
  eq(new Set(mine.map((e) => e.op_id)).size, mine.length, "no change applied twice");
  eq(mine.length, N - 1, "changes committed (all but the refused description)");
  const bobsLast = Math.max(...events.filter((e) => e.actor === U.bob.id).map((e) => e.seq));
  assert(mine.every((e) => e.seq > bobsLast), "A's changes applied after B's");
  const firstAt = await A.evaluate(() => window.__corkboard.queue.stats.firstSentAtSeq);
  assert(firstAt >= bobsLast, `A sent its first change at seq ${firstAt}, before catching up with B's (seq ${bobsLast})`);
  const snap = await snapshot("alice", board.id);
  eq(snap.cards.filter((c) => c.title === "Written offline, renamed").length, 1, "the card written offline, once");
  eq(snap.columns.map((c) => c.name), ["Todo", "Doing", "Shipped", "Later"], "columns");
  const alpha = snap.cards.find((c) => c.title === "Alpha (offline)");
  const comments = await call("alice", "GET", `/api/boards/${board.id}/cards/${alpha.id}/comments`);
  eq(comments.comments.map((c) => c.text), [comment], "the comment, once");
  const lists = await call("alice", "GET", `/api/boards/${board.id}/cards/${alpha.id}/checklists`);
  eq(lists.checklists.map((l) => l.name), ["Offline steps"], "the checklist, once");
  eq(snap.cards.filter((c) => c.title === "Old").map((c) => c.archived), [true], "archived");
  assert(!snap.cards.some((c) => c.title === "Delta"), "deleted");
  await sameAsDB(A, "alice", board.id);
  await sameAsDB(B, "bob", board.id);
  await inOrder(B);

  // The description of the card B deleted: not applied, text kept.
  const item = A.locator(".refused-item", { hasText: "Edit a card's description (“Doomed”)" });
  await item.waitFor();
  assert(/Not applied: .*\(404\)/.test(await item.locator(".refused-reason").textContent()), "the reason says 404");
  eq(await item.locator(".refused-text").inputValue(), words, "the refused text");
  await item.getByRole("button", { name: "Copy" }).click();
  eq(await A.evaluate(() => navigator.clipboard.readText()), words, "the copied text");
  await shot(A, "board-offline-refused");
  await A.locator(".refused").screenshot({ path: join(cfg.artifacts, "offline-refused.png") }); // docs/images/offline-refused.png
  await item.getByRole("button", { name: "Dismiss" }).click();
  await A.locator(".refused").waitFor({ state: "hidden" });
  await A.reload();
  await A.waitForSelector('.conn[data-conn="live"]');
  eq(await A.locator(".refused-item").count(), 0, "a dismissed refusal stays dismissed");

  // B renames a card offline and loses access meanwhile: back online, the
  // board is unavailable, and the rename is listed as not applied.
  await B.context().setOffline(true);
  await B.waitForSelector('.conn[data-conn="offline"]');
  await card(B, "Gamma").focus();
  await B.keyboard.press("F2");
  await B.keyboard.press("Control+A");
  await B.keyboard.type("Gamma, as bob would have it");
  await B.keyboard.press("Enter");
  await B.locator(".queue-pill", { hasText: "1 change waiting to be sent" }).waitFor();
  await call("alice", "DELETE", `/api/boards/${board.id}/members/${U.bob.id}`);
  await B.context().setOffline(false);
  await B.locator(".gone", { hasText: "Board unavailable" }).waitFor({ timeout: 20000 });
  const lost = B.locator(".refused-item", { hasText: "Rename a card to “Gamma, as bob would have it”" });
  await lost.waitFor();
  eq(await lost.locator(".refused-text").inputValue(), "Gamma, as bob would have it", "bob's refused text");
  log("lost access: " + await lost.locator(".refused-reason").textContent());
  assert((await snapshot("alice", board.id)).cards.some((c) => c.title === "Gamma"), "Gamma unchanged");
};

// 500 changes made offline drain in order, paced under the per-user rate
// limit: no 429 reaches the person, and every change lands once.
scenarios.offlinedrain = async () => {
  const { board, cols } = await newBoard("alice", `Offline drain ${run}`, ["Todo"], { bob: "editor" });
  const k = await addCard("alice", board.id, cols[0].id, "Counter");
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  const before = (await snapshot("alice", board.id)).seq;
  await A.context().setOffline(true);
  await A.waitForSelector('.conn[data-conn="offline"]');
  const N = 500;
  await A.evaluate(([id, n]) => { const p = window.__corkboard.page; for (let i = 1; i <= n; i++) p.patchCard(id, { title: `Counter ${i}` }); }, [k.id, N]);
  await A.locator(".queue-pill", { hasText: `${N} changes waiting to be sent` }).waitFor();
  await A.waitForFunction(async ([o, n]) => (await window.__corkboard.queue.store.all(o, "change")).length === n, [`${U.alice.id}/${board.id}`, N]);
  // B changes the card meanwhile: A catches up with it before sending.
  await call("bob", "PATCH", `/api/boards/${board.id}/cards/${k.id}`, { title: "Bob's title", done: true }, I1);
  const bobs = (await snapshot("bob", board.id)).seq;
  const start = Date.now();
  await A.context().setOffline(false);
  await A.locator(".queue-pill").waitFor({ state: "hidden", timeout: 90000 });
  const ms = Date.now() - start;
  const stats = await A.evaluate(() => window.__corkboard.queue.stats);
  log(`drained ${N} changes in ${ms} ms (${(N / (ms / 1000)).toFixed(1)} a second, from back online to empty); queue stats ${JSON.stringify(stats)}`);
  eq(stats.waits429, 0, "429 answers while draining");
  eq(stats.refused, 0, "refused while draining");
  assert(stats.firstSentAtSeq >= bobs, `A sent its first change at seq ${stats.firstSentAtSeq}, before catching up with B's (seq ${bobs})`);
  eq((await snapshot("alice", board.id)).cards[0].done, true, "B's done flag, kept under A's titles");
  eq(await A.locator(".toast-error").count(), 0, "error toasts");
  const events = (await allEvents("alice", board.id, before)).filter((e) => e.kind === "card.updated" && e.actor === U.alice.id);
  eq(events.map((e) => e.data.title), Array.from({ length: N }, (_, i) => `Counter ${i + 1}`), "the changes in order, once each");
  await sameAsDB(A, "alice", board.id);
  await sameAsDB(B, "bob", board.id);
};

// --- issue 12's small fixes and the accessibility check --------------------

// noPageScroll fails when the page itself scrolls sideways (a board's
// columns scroll inside the board, which is fine).
async function noPageScroll(page, what) {
  // A phone's layout viewport grows to fit what overflows: compare with the
  // width the page was given too.
  const [sw, iw] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
  const vw = page.viewportSize().width;
  assert(sw <= iw && sw <= vw, `${page.label}: ${what} scrolls sideways: scrollWidth ${sw} (innerWidth ${iw}, viewport ${vw})`);
}

// notCut fails when an element's text is cut (ellipsis or clipped).
async function notCut(loc, what) {
  const [sw, cw, text] = await loc.evaluate((el) => [el.scrollWidth, el.clientWidth, el.textContent]);
  assert(sw <= cw, `${what} “${text}” is cut: scrollWidth ${sw} > clientWidth ${cw}`);
}

// guideShortcuts reads the keyboard table of docs/guide.md: [where, key,
// does] with an empty where continuing the row above, as shortcuts.js has it.
function guideShortcuts() {
  const md = readFileSync(new URL("../../docs/guide.md", import.meta.url), "utf8");
  const sec = md.split(/^## Keyboard$/m)[1].split(/^## /m)[0];
  return sec.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| where") && !l.startsWith("| ---"))
    .map((l) => l.slice(1, -1).split(" | ").map((c) => c.trim().replaceAll("`", "")));
}

scenarios.uifix = async () => {
  // The log-in page asks who is logged in without a failed request.
  const L = await open("L(logged out)", null, I0);
  const failed = [];
  L.on("console", (m) => { if (m.type() === "error") failed.push(m.text()); });
  L.on("response", (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  await L.goto("/");
  await L.waitForURL(/\/login$/);
  await L.getByRole("button", { name: "Log in" }).waitFor();
  await L.reload();
  await L.getByRole("button", { name: "Log in" }).waitFor();
  eq(failed, [], "errors and failed requests while loading the log-in page");

  // A viewer sees "View only"; an owner does not.
  const { board, cards } = await demoBoard();
  const D = await open("D(dave viewer)", "dave", I0);
  await gotoBoard(D, board.id);
  const sign = D.locator(".view-only");
  await sign.waitFor();
  eq((await sign.textContent()).trim(), "View only", "the viewer's sign");
  assert(await sign.getAttribute("title"), "the sign says why");
  const A = await open("A(alice@0)", "alice", I0, { viewport: { width: 1280, height: 720 } });
  await gotoBoard(A, board.id);
  assert(await A.locator(".view-only").isHidden(), "an owner sees no View only sign");
  await shot(D, "uifix-view-only", { clip: { x: 0, y: 0, width: 760, height: 120 } });

  // A card added at the bottom of a long column is scrolled into view.
  const { board: long, cols } = await newBoard("alice", `Long ${run}`, ["Many"]);
  for (let i = 1; i <= 40; i++) await addCard("alice", long.id, cols[0].id, `Card number ${i}`);
  await gotoBoard(A, long.id);
  await A.getByRole("button", { name: "Add a card" }).click();
  // The person scrolled up the column to read while the field is open (a
  // list left at its bottom may follow by scroll anchoring, which not every
  // browser has).
  await A.evaluate(() => { document.querySelector(".cards").scrollTop = 0; });
  await A.keyboard.type("The newest card");
  await A.keyboard.press("Enter");
  await A.waitForFunction(has.card, ["Many", "The newest card"]);
  await sleep(200); // any late scrolling or layout
  const visible = await A.evaluate(() => {
    const k = [...document.querySelectorAll(".card")].find((c) => c.querySelector(".card-title").textContent === "The newest card");
    const list = k.closest(".cards").getBoundingClientRect(), r = k.getBoundingClientRect();
    return { card: [r.top, r.bottom], list: [list.top, list.bottom], inView: r.top >= list.top - 1 && r.bottom <= list.bottom + 1 && r.bottom <= innerHeight };
  });
  assert(visible.inView, `the new card is not in view: ${JSON.stringify(visible)}`);
  await shot(A, "uifix-new-card-in-view");

  // The keyboard shortcuts in the page: "?" and the help button, row for
  // row those of docs/guide.md.
  await A.keyboard.press("Escape"); // closes the composer: focus on "Add a card"
  await A.keyboard.press("?");
  const dlg = A.locator("dialog.shortcuts-dialog");
  await dlg.waitFor();
  const rows = await dlg.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  eq(rows, guideShortcuts(), "the shortcuts dialog against docs/guide.md#keyboard");
  await shot(A, "uifix-shortcuts");
  await A.keyboard.press("Escape");
  await dlg.waitFor({ state: "detached" });
  await A.getByRole("button", { name: "Keyboard shortcuts" }).click();
  await dlg.waitFor();
  await dlg.getByRole("button", { name: "Close" }).click();
  await dlg.waitFor({ state: "detached" });

  // A 390 px phone: no page scrolls sideways, and an 11-character board
  // name is shown whole, on the list and on the board.
  const name = "Sprint 2027";
  const { board: sprint } = await newBoard("alice", name, ["To do", "Doing", "Done"], { bob: "editor", dave: "viewer" });
  await addCard("alice", sprint.id, (await snapshot("alice", sprint.id)).columns[0].id, "A card with a longer title that wraps on a phone");
  const phone = { viewport: { width: 390, height: 844 }, scale: 2, isMobile: true, hasTouch: true };
  const PL = await open("PL(phone, logged out)", null, I0, phone);
  await PL.goto("/login");
  await PL.getByRole("button", { name: "Log in" }).waitFor();
  await noPageScroll(PL, "the log-in page");
  await shot(PL, "uifix-phone-login");
  const P = await open("P(alice phone)", "alice", I0, phone);
  await P.goto("/");
  const tile = P.locator(".board-tile", { hasText: name }).first();
  await tile.waitFor();
  await noPageScroll(P, "the boards page");
  await notCut(tile.locator(".tile-name"), "the board tile's name");
  await shot(P, "uifix-phone-boards");
  // Someone else on the board: their avatar takes room in the top bar too.
  const B = await open("B(bob@1)", "bob", I1);
  await gotoBoard(B, sprint.id);
  await gotoBoard(P, sprint.id);
  await P.waitForFunction(() => document.querySelector(".presence").dataset.count === "1");
  await noPageScroll(P, "the board page");
  await notCut(P.locator(".board-name"), "the board's name in the top bar");
  await shot(P, "uifix-phone-board");
  const PD = await open("PD(dave phone, viewer)", "dave", I0, phone);
  await gotoBoard(PD, sprint.id);
  await PD.waitForFunction(() => Number(document.querySelector(".presence").dataset.count) >= 1);
  await PD.locator(".view-only").waitFor();
  await noPageScroll(PD, "the board page of a viewer");
  await notCut(PD.locator(".board-name"), "the board's name in a viewer's top bar");
  await shot(PD, "uifix-phone-board-viewer");
  await gotoBoard(P, board.id); // the demo board: presence, labels, more columns
  await noPageScroll(P, "a busy board page");
  await card(P, "Billing: proration on plan change").click();
  await P.locator("dialog.card-dialog .comment").first().waitFor();
  await noPageScroll(P, "the card dialog");
  await shot(P, "uifix-phone-card");
};

// axe runs axe-core in the page and fails on serious or critical
// violations. The context must bypass the CSP: axe.min.js goes in as an
// inline script.
async function axe(page, what) {
  if (!(await page.evaluate(() => !!window.axe))) {
    await page.addScriptTag({ path: new URL("../node_modules/axe-core/axe.min.js", import.meta.url).pathname });
  }
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n      ` +
    v.nodes.slice(0, 6).map((n) => `${n.target.join(" ")} — ${(n.failureSummary || "").replaceAll("\n", " ")}`).join("\n      "));
  log(`axe ${what}: ${res.violations.length} violations (${res.violations.map((v) => `${v.impact} ${v.id}`).join(", ") || "none"}), ${bad.length} serious or critical`);
  if (bad.length) axeFound.push(`${page.label}: axe on ${what}:\n    ${lines.join("\n    ")}`);
}

// axeFound collects what axe found on every page, for one report.
const axeFound = [];

scenarios.a11y = async () => {
  const { board } = await demoBoard();
  for (const scheme of ["light", "dark"]) {
    const opts = { colorScheme: scheme, bypassCSP: true, viewport: { width: 1280, height: 800 } };
    const L = await open(`L(logged out, ${scheme})`, null, I0, opts);
    await L.goto("/login");
    await L.getByRole("button", { name: "Log in" }).waitFor();
    await axe(L, `the log-in page (${scheme})`);
    await shot(L, `a11y-login-${scheme}`, { clip: { x: 400, y: 100, width: 480, height: 560 } });
    await L.goto("/signup");
    await L.getByRole("button", { name: "Create account" }).waitFor();
    await axe(L, `the sign-up page (${scheme})`);
    const A = await open(`A(alice, ${scheme})`, "alice", I0, opts);
    await A.goto("/");
    await A.locator(".board-tile").first().waitFor();
    await axe(A, `the boards page (${scheme})`);
    await gotoBoard(A, board.id);
    await axe(A, `the board (${scheme})`);
    await card(A, "Billing: proration on plan change").click();
    await A.locator("dialog.card-dialog .comment").first().waitFor();
    await A.locator("dialog.card-dialog .checklist-item").first().waitFor();
    await axe(A, `the card dialog (${scheme})`);
    await A.keyboard.press("Escape");
    await A.locator("dialog.card-dialog").waitFor({ state: "detached" });
    await A.getByRole("button", { name: "Board actions" }).click();
    await A.getByRole("menuitem", { name: "Activity" }).click();
    await A.locator(".activity-panel .act-entry").first().waitFor();
    await axe(A, `the board's activity panel (${scheme})`);
    await A.keyboard.press("Escape");
    await A.locator(".activity-panel").waitFor({ state: "hidden" });
    await A.getByRole("button", { name: "Keyboard shortcuts" }).click();
    await A.locator("dialog.shortcuts-dialog").waitFor();
    await axe(A, `the shortcuts dialog (${scheme})`);
    await A.keyboard.press("Escape");
    await A.locator(".user-chip").click();
    await A.getByRole("menu", { name: "Account" }).waitFor();
    await axe(A, `the account menu (${scheme})`);
    await A.getByRole("menuitem", { name: "Account" }).click();
    await A.getByRole("heading", { name: "Your account" }).waitFor();
    await axe(A, `the account page (${scheme})`);
    const D = await open(`D(dave viewer, ${scheme})`, "dave", I0, opts);
    await gotoBoard(D, board.id);
    await axe(D, `the board as a viewer (${scheme})`);
  }

  // The theme can be chosen: it is remembered, applied before the first
  // paint (set when the parser reaches <body>, before any module runs), and
  // the chosen dark passes too.
  const T = await open("T(alice, light system, dark chosen)", "alice", I0, { colorScheme: "light", viewport: { width: 1280, height: 800 } });
  await T.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (!document.body) return;
      window.__themeAtBody = document.documentElement.getAttribute("data-theme");
      window.__schemeAtBody = getComputedStyle(document.documentElement).colorScheme;
      obs.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  await gotoBoard(T, board.id);
  const bg = () => T.evaluate(() => getComputedStyle(document.body).backgroundColor);
  eq(await bg(), "rgb(245, 244, 240)", "the light background");
  await T.locator(".user-chip").click();
  await T.getByRole("menuitemradio", { name: "Dark theme" }).click();
  eq(await bg(), "rgb(22, 23, 26)", "the dark background once chosen");
  eq(await T.evaluate(() => localStorage.getItem("corkboard-theme")), "dark", "the remembered theme");
  await T.reload();
  await T.waitForSelector('.conn[data-conn="live"]');
  eq(await T.evaluate(() => [window.__themeAtBody, window.__schemeAtBody]), ["dark", "dark"], "the theme when the parser reached <body>");
  eq(await bg(), "rgb(22, 23, 26)", "the dark background after a reload");
  await T.locator(".user-chip").click();
  eq(await T.getByRole("menuitemradio", { name: "Dark theme" }).getAttribute("aria-checked"), "true", "the menu marks the chosen theme");
  await shot(T, "a11y-theme-menu");
  await T.getByRole("menuitemradio", { name: "System theme" }).click();
  eq(await bg(), "rgb(245, 244, 240)", "the system's (light) background again");
  eq(await T.evaluate(() => [localStorage.getItem("corkboard-theme"), document.documentElement.getAttribute("data-theme")]), [null, null], "system: nothing stored");
  // Chosen light on a dark system.
  const TL = await open("TL(alice, dark system, light chosen)", "alice", I0, { colorScheme: "dark", bypassCSP: true, viewport: { width: 1280, height: 800 } });
  await TL.goto("/");
  await TL.locator(".board-tile").first().waitFor();
  eq(await TL.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(22, 23, 26)", "the dark system's background");
  await TL.locator(".user-chip").click();
  await TL.getByRole("menuitemradio", { name: "Light theme" }).click();
  eq(await TL.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(245, 244, 240)", "light chosen on a dark system");
  await axe(TL, "the boards page (light chosen on a dark system)");
  await shot(TL, "a11y-light-on-dark-system");
  assert(axeFound.length === 0, "serious or critical accessibility violations:\n  " + axeFound.join("\n  "));
};

scenarios.notify = async () => {
  // bob is on his boards list (instance 1), and on it in a second tab
  // (instance 0); alice shares a board with him through the API.
  const B = await open("B(bob@1)", "bob", I1);
  const L = await open("L(bob@0)", "bob", I0);
  await Promise.all([B.goto("/"), L.goto("/")]);
  await Promise.all([B.locator(".bell").waitFor(), L.locator(".bell").waitFor()]);
  const { board, cols } = await newBoard("alice", `Shared ${run}`, ["Todo"]);
  await call("alice", "POST", `/api/boards/${board.id}/members`, { username: "bob", role: "editor" });
  const tile = (P) => P.locator(`.board-tile[data-id="${board.id}"]`);
  await Promise.all([tile(B).waitFor({ timeout: 10000 }), tile(L).waitFor({ timeout: 10000 })]);
  log("the shared board appeared on both of bob's lists");
  await call("alice", "PATCH", `/api/boards/${board.id}`, { name: `Renamed ${run}` });
  await tile(B).locator(".tile-name", { hasText: `Renamed ${run}` }).waitFor({ timeout: 10000 });

  // alice mentions bob in a comment: his badge shows 1 on both tabs.
  const c = await addCard("alice", board.id, cols[0].id, "Mentioned card");
  await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/comments`, { text: "@bob please check this" });
  await Promise.all([B.locator(".bell-badge:not([hidden])", { hasText: /^1$/ }).waitFor({ timeout: 10000 }),
    L.locator(".bell-badge:not([hidden])", { hasText: /^1$/ }).waitFor({ timeout: 10000 })]);
  // Clicking it opens the board and the card; the badge clears everywhere.
  await B.locator(".bell").click();
  await B.locator(".notif.is-unread .notif-open", { hasText: "Mentioned card" }).waitFor();
  await shot(B, "notify-panel");
  await B.locator(".notif.is-unread .notif-open", { hasText: "Mentioned card" }).click();
  await B.waitForURL(`**/boards/${board.id}`);
  const dlg = B.locator("dialog.card-dialog");
  await dlg.waitFor();
  eq(await dlg.locator(".cd-title").inputValue(), "Mentioned card", "the card the notification opened");
  await Promise.all([B.locator(".bell-badge[hidden]").waitFor({ state: "attached" }), L.locator(".bell-badge[hidden]").waitFor({ state: "attached" })]);

  // Autocomplete: "@al" in the comment box offers alice; Enter takes her.
  const box = dlg.getByLabel("New comment");
  await box.click();
  await box.pressSequentially("thanks @al");
  await dlg.locator(".mention-list [role=option]", { hasText: "@alice" }).waitFor();
  await shot(B, "notify-mention");
  await box.press("Enter");
  eq(await box.inputValue(), "thanks @alice ", "the comment box after choosing a member");

  // On the board page the board's own connection carries bob's stream.
  await call("alice", "POST", `/api/boards/${board.id}/cards/${c.id}/comments`, { text: "and @bob one more" });
  await B.locator(".bell-badge:not([hidden])", { hasText: /^1$/ }).waitFor({ timeout: 10000 });
  await call("bob", "POST", "/api/notifications/read", { all: true });
  await B.locator(".bell-badge[hidden]").waitFor({ state: "attached" });

  // The board menu mutes it.
  await box.fill("");
  await dlg.locator(".cd-close").click();
  await dlg.waitFor({ state: "detached" });
  await B.getByRole("button", { name: "Board actions" }).click();
  await B.getByRole("menuitem", { name: "Mute notifications" }).click();
  await B.waitForFunction(async (id) => (await (await fetch(`/api/boards/${id}/mute`)).json()).muted, board.id);

  // alice removes bob: the open board says so, the list drops it.
  await call("alice", "DELETE", `/api/boards/${board.id}/members/${U.bob.id}`);
  await B.locator(".gone h2", { hasText: "Board unavailable" }).waitFor({ timeout: 10000 });
  await tile(L).waitFor({ state: "detached", timeout: 10000 });
  log("removal: the open board is unavailable, the list dropped it");
  await shot(L, "notify-boards");
  await checkPages();
};

// pngFile is a w×h PNG (left half red, right half blue), made here with
// zlib so that the scenario needs no image files.
async function pngFile(w, h) {
  const { deflateSync } = await import("node:zlib");
  const table = [...Array(256)].map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      if (x < w / 2) raw[o] = 220; else raw[o + 2] = 220;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

scenarios.attachments = async () => {
  const { board, cols } = await newBoard("alice", `Attachments ${run}`, ["Todo"], { bob: "editor" });
  const c = await addCard("alice", board.id, cols[0].id, "Design review");
  const A = await open("A(alice@0)", "alice", I0);
  const B = await open("B(bob@1)", "bob", I1);
  await Promise.all([gotoBoard(A, board.id), gotoBoard(B, board.id)]);
  for (const P of [A, B]) {
    await card(P, "Design review").click();
    await P.locator("dialog.card-dialog .cd-attachments .muted", { hasText: "No attachments." }).waitFor();
  }
  const dA = A.locator("dialog.card-dialog"), dB = B.locator("dialog.card-dialog");

  // alice picks an image whose name is markup; bob, on the other instance,
  // sees it with its thumbnail, and its name as text.
  const evilName = `<img src=x onerror="window.__xss=4">.png`;
  let start = Date.now();
  await dA.locator(".cd-attachments input[type=file]").setInputFiles({ name: evilName, mimeType: "image/png", buffer: await pngFile(600, 300) });
  await B.waitForFunction(() => {
    const img = document.querySelector("dialog.card-dialog img.att-thumb");
    return img && img.complete && img.naturalWidth > 0;
  }, null, { polling: 20, timeout: 10000 });
  log(`upload seen with its thumbnail on the other instance in ${Date.now() - start} ms`);
  eq(await dB.locator(".att-thumb").evaluate((img) => [img.naturalWidth, img.naturalHeight]), [256, 128], "the thumbnail's size");
  eq(await dB.locator(".att-name").textContent(), evilName, "the file name as bob sees it");
  for (const P of [A, B]) {
    eq(await P.evaluate(() => [window.__xss ?? null, document.querySelectorAll("dialog.card-dialog img:not(.att-thumb), dialog.card-dialog script").length]),
      [null, 0], `${P.label}: markup from the file name reached the DOM`);
  }
  await card(B, "Design review").locator(".card-title").waitFor(); // the board behind the dialog still there

  // A page disguised as an image, dropped on the dialog: no thumbnail,
  // and downloading it runs nothing (served as an attachment, sandboxed).
  const html = `<html><body><script>parent.__xss = 5</script>hi</body></html>`;
  const dt = await A.evaluateHandle((text) => {
    const d = new DataTransfer();
    d.items.add(new File([text], "cat.png", { type: "image/png" }));
    return d;
  }, html);
  await dA.dispatchEvent("drop", { dataTransfer: dt });
  await dB.locator(".attachment", { hasText: "cat.png" }).waitFor();
  eq(await dB.locator(".attachment", { hasText: "cat.png" }).locator("img").count(), 0, "a thumbnail for a page");
  const list = await call("bob", "GET", `/api/boards/${board.id}/cards/${c.id}/attachments`, undefined, I1);
  const [pic, page] = list.attachments;
  eq([pic.content_type, page.content_type, page.name], ["image/png", "text/html; charset=utf-8", "cat.png"], "the sniffed types");
  const heads = await B.evaluate(async (urls) => {
    const out = [];
    for (const u of urls) {
      const r = await fetch(u);
      out.push([r.status, r.headers.get("content-disposition").split(";")[0], r.headers.get("content-security-policy"), r.headers.get("x-content-type-options")]);
    }
    return out;
  }, [`/api/boards/${board.id}/cards/${c.id}/attachments/${pic.id}/content`, `/api/boards/${board.id}/cards/${c.id}/attachments/${page.id}/content`]);
  eq(heads, [[200, "inline", "default-src 'none'; sandbox", "nosniff"], [200, "attachment", "default-src 'none'; sandbox", "nosniff"]], "download headers");

  // bob makes the image the cover; alice sees it; alice deletes the image
  // and the cover goes with it on both screens.
  await dB.locator(".attachment", { has: B.locator(".att-thumb") }).getByRole("button", { name: "Make cover" }).click();
  await dA.getByRole("button", { name: "Remove cover" }).waitFor();
  eq((await snapshot("alice", board.id)).cards[0].cover, pic.id, "the cover in the snapshot");
  await shot(A, "attachments-dialog");
  await dA.getByRole("button", { name: `Delete ${evilName}` }).click();
  await A.locator("dialog.modal:not(.card-dialog)").getByRole("button", { name: "Delete" }).click();
  await dB.locator("img.att-thumb").waitFor({ state: "detached" });
  await dB.getByRole("button", { name: "Make cover" }).waitFor({ state: "detached" });
  const after = await snapshot("alice", board.id);
  eq([after.cards[0].cover, after.cards[0].attachment_count], [null, 1], "the card after its cover was deleted");
  for (const P of [A, B]) eq(await P.evaluate(() => window.__xss ?? null), null, `${P.label}: a script ran`);
};

// filters: the board's filter bar stays on while live changes arrive
// from another user on the other instance (a matching card appears, a
// non-matching one does not, an edited card that stops matching goes, a
// comment that matches brings its card), moves while filtered land where
// the person sees them, the filter lives in the URL across a reload; and
// the search box of the boards page finds a card on another board, shows
// the matched word marked (the card's own markup as text) and opens it.
scenarios.filters = async () => {
  const { board, cols } = await newBoard("alice", `Filters ${run}`, ["Todo", "Doing"], { bob: "editor" });
  const [todo] = cols;
  for (const t of ["Alpha report", "Beta report", "Gamma", "Omega report"]) await addCard("alice", board.id, todo.id, t);
  const A = await open("A(alice@0)", "alice", I0);
  await gotoBoard(A, board.id);
  const titles = () => A.evaluate(() => [...document.querySelectorAll(".column")].map((c) =>
    [...c.querySelectorAll(".card .card-title")].map((t) => t.textContent)));

  // Typing filters, and the filter goes into the URL.
  await A.fill(".filter-text", "report");
  await A.waitForFunction(has.order, ["Todo", ["Alpha report", "Beta report", "Omega report"]]);
  assert(new URL(A.url()).searchParams.get("q") === "report", `the URL keeps the filter: ${A.url()}`);
  await A.waitForFunction(() => /3 of 4 cards/.test(document.querySelector(".filter-count").textContent));
  await shot(A, "board-filtered");

  // bob, on the other instance, adds a matching and a non-matching card.
  const start = Date.now();
  const delta = await call("bob", "POST", `/api/boards/${board.id}/cards`, { column_id: todo.id, title: "Delta report" }, I1);
  await call("bob", "POST", `/api/boards/${board.id}/cards`, { column_id: todo.id, title: "Epsilon" }, I1);
  await within(A, 3000, start, "bob's matching card appears", has.order, ["Todo", ["Alpha report", "Beta report", "Omega report", "Delta report"]]);
  await A.waitForFunction(() => window.__corkboard.page.model.cards.size === 6);
  eq(await titles(), [["Alpha report", "Beta report", "Omega report", "Delta report"], []], "Epsilon is filtered out");
  // He edits one so that it no longer matches: it goes.
  const beta = (await snapshot("bob", board.id)).cards.find((c) => c.title === "Beta report");
  await call("bob", "PATCH", `/api/boards/${board.id}/cards/${beta.id}`, { title: "Beta summary" }, I1);
  await A.waitForFunction(has.noCard, "Beta summary");
  await A.waitForFunction(has.order, ["Todo", ["Alpha report", "Omega report", "Delta report"]]);
  // A comment with the word brings Gamma in (the server's search of comments).
  const gamma = (await snapshot("bob", board.id)).cards.find((c) => c.title === "Gamma");
  await call("bob", "POST", `/api/boards/${board.id}/cards/${gamma.id}/comments`, { text: "see the report" }, I1);
  await A.waitForFunction(has.order, ["Todo", ["Alpha report", "Gamma", "Omega report", "Delta report"]], { timeout: 5000 });

  // A keyboard move while filtered: Alpha below Gamma, among what is shown.
  await card(A, "Alpha report").focus();
  await A.keyboard.press("Alt+ArrowDown");
  await A.waitForFunction(has.order, ["Todo", ["Gamma", "Alpha report", "Omega report", "Delta report"]]);
  await A.waitForFunction(() => window.__corkboard.pending === 0);
  let all = (await snapshot("alice", board.id)).cards.filter((c) => c.column_id === todo.id).map((c) => c.title);
  eq(all, ["Beta summary", "Gamma", "Alpha report", "Omega report", "Delta report", "Epsilon"], "the order in the database after the move");

  // A reload keeps the filter; the other filters narrow further.
  await A.reload();
  await A.waitForFunction(() => window.__corkboard && window.__corkboard.conn === "live");
  await A.waitForFunction(has.order, ["Todo", ["Gamma", "Alpha report", "Omega report", "Delta report"]], { timeout: 5000 });
  eq(await A.inputValue(".filter-text"), "report", "the filter text after a reload");
  await call("bob", "PATCH", `/api/boards/${board.id}/cards/${delta.id}`, { done: true }, I1);
  await A.selectOption(".filter-done", "yes");
  await A.waitForFunction(has.order, ["Todo", ["Delta report"]]);
  assert(new URL(A.url()).searchParams.get("done") === "yes", `done in the URL: ${A.url()}`);
  await A.selectOption(".filter-assignee", "mine");
  await A.waitForFunction(has.order, ["Todo", []]);
  await A.click(".filter-clear");
  await sameAsDB(A, "alice", board.id);
  assert(!new URL(A.url()).search, `no filter left in the URL: ${A.url()}`);

  // The search box finds a card on another board (bob's, alice a viewer).
  const other = await newBoard("bob", `Elsewhere ${run}`, ["Ideas"], { alice: "viewer" });
  const q = `quasar${run}`;
  const target = await addCard("bob", other.board.id, other.cols[0].id, `Plan the ${q} launch <b>now</b>`, { description: `Notes about ${q}.` });
  await A.goto("/");
  await A.fill(".search-input", q);
  const hit = A.locator(`.search-results li[data-card="${target.id}"]`);
  await hit.waitFor({ timeout: 5000 });
  eq(await hit.locator(".search-title mark").allTextContents(), [q], "the matched word is marked");
  eq(await hit.locator(".search-title").textContent(), `Plan the ${q} launch <b>now</b>`, "the title, its markup as text");
  eq(await hit.locator(".search-title b").count(), 0, "no element made from the card's text");
  assert((await hit.textContent()).includes(`Elsewhere ${run}`), "the board's name is shown");
  await shot(A, "search-results");
  await hit.locator("a").click();
  await A.locator("dialog.card-dialog").waitFor({ timeout: 10000 });
  eq(await A.inputValue("dialog.card-dialog .cd-title"), `Plan the ${q} launch <b>now</b>`, "the card opened from the result");
  assert(new URL(A.url()).pathname === `/boards/${other.board.id}`, `on the card's board: ${A.url()}`);
};

async function main() {
  const fn = scenarios[scenario];
  if (!fn) { console.error(`unknown scenario ${scenario}; have ${Object.keys(scenarios).join(", ")}`); process.exit(2); }
  await launch();
  try {
    await fn();
    await checkPages();
    log(`PASS ${scenario}`);
  } catch (err) {
    for (const p of pages) {
      if (!p.isClosed()) await p.screenshot({ path: join(cfg.artifacts, `fail-${scenario}-${p.label.replace(/[^a-z0-9]+/gi, "_")}.png`) }).catch(() => {});
    }
    console.error(`FAIL ${scenario}: ${err.stack || err}`);
    if (problems.length) console.error("page problems:\n  " + problems.join("\n  "));
    process.exitCode = 1;
  } finally {
    await browser.close().catch(() => {});
  }
}

await main();
