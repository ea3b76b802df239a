// Browser scenarios: following boards: webhooks, notifications and the live boards list, filters and search.
// Registered in lib.mjs's scenarios; run by browser.mjs (see e2e_test.go).

import {
  cfg, I0, I1, U, scenario, t0, run, log, fail, assert, eq, sleep, browser, pages, problems, launch, open, checkPages, shot, call, newBoard, labelsMade, labelId, addCard, snapshot, expected, shown, sameAsDB, gotoBoard, control, card, column, within, has, inOrder, scenarios, demoBoard,
} from "../lib.mjs";

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
