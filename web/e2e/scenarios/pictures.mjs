// Browser scenarios: the pictures of the docs: the screenshots and the guide.
// Registered in lib.mjs's scenarios; run by browser.mjs (see e2e_test.go).

import {
  cfg, I0, I1, U, scenario, t0, run, log, fail, assert, eq, sleep, browser, pages, problems, launch, open, checkPages, shot, call, newBoard, labelsMade, labelId, addCard, snapshot, expected, shown, sameAsDB, gotoBoard, control, card, column, within, has, inOrder, scenarios, demoBoard,
} from "../lib.mjs";

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
