// Browser scenarios: changes made while the connection is down: the queue, a reload while offline, a 500-change drain.
// Registered in lib.mjs's scenarios; run by browser.mjs (see e2e_test.go).

import { join } from "node:path";
import {
  cfg, I0, I1, U, scenario, t0, run, log, fail, assert, eq, sleep, browser, pages, problems, launch, open, checkPages, shot, call, newBoard, labelsMade, labelId, addCard, snapshot, expected, shown, sameAsDB, gotoBoard, control, card, column, within, has, inOrder, scenarios, demoBoard,
} from "../lib.mjs";

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
