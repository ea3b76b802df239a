// Browser scenarios: the board itself: live edits across instances, accounts and log-in, reconnecting, XSS, columns, keyboard, drag and drop, conflicts, rollbacks, a large board.
// Registered in lib.mjs's scenarios; run by browser.mjs (see e2e_test.go).

import {
  cfg, I0, I1, U, scenario, t0, run, log, fail, assert, eq, sleep, browser, pages, problems, launch, open, checkPages, shot, call, newBoard, labelsMade, labelId, addCard, snapshot, expected, shown, sameAsDB, gotoBoard, control, card, column, within, has, inOrder, scenarios, demoBoard,
} from "../lib.mjs";

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


scenarios.auth = async () => {
  const name = `dana${run}`;
  const P = await open("P(new user@0)", null, I0);
  await P.goto("/");
  await P.waitForURL(/\/login$/);
  await P.getByRole("link", { name: "Create an account" }).click();
  // The sign-up form, not the login form it replaces (filled before the
  // page changed, the fields would be the old form's).
  await P.getByRole("heading", { name: "Create your account" }).waitFor();
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
