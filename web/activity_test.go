package web

import (
	"testing"
)

// TestActivitySentences runs the page's activity.js in Node: every event
// kind of the log (and the label and attachment kinds) reads as a
// sentence, with names resolved through the board as it is now, then
// through the event and its prev, then a neutral word for what is gone; a
// kind it does not know reads "… changed this card"; respacings are not
// shown.
func TestActivitySentences(t *testing.T) {
	script := `
import { describe, sentenceText } from ` + pageModule(t, "static/js/activity.js") + `;
const L1 = "11111111-1111-1111-1111-111111111111", GONE = "99999999-9999-9999-9999-999999999999";
const model = {
  members: new Map([["u-ann", { user_id: "u-ann", username: "ann", role: "owner" }], ["u-ben", { user_id: "u-ben", username: "ben", role: "editor" }]]),
  columns: new Map([["c-doing", { id: "c-doing", name: "Doing" }], ["c-done", { id: "c-done", name: "Done" }]]),
  cards: new Map([["k1", { id: "k1", title: "Write docs", column_id: "c-done" }]]),
  labels: new Map([[L1, { id: L1, name: "Urgent", color: "red" }]]),
};
const users = { "u-carl": "carl" };
const card = { id: "k1", title: "Write docs", column_id: "c-doing", labels: [], assignees: [], done: false, description: "" };
const item = { id: "i1", checklist_id: "l1", text: "Write tests", done: false };
const cases = [
  // [event, card scope, want]
  [{ kind: "card.moved", actor: "u-ann", data: { ...card, column_id: "c-done" }, prev: card }, "k1", "ann moved this card from Doing to Done"],
  [{ kind: "card.moved", actor: "u-ann", data: { ...card, column_id: "c-done" }, prev: card }, null, "ann moved Write docs from Doing to Done"],
  [{ kind: "card.moved", actor: "u-ann", data: { ...card, column_id: "c-done" }, prev: { ...card, column_id: "c-gone" } }, "k1", "ann moved this card from a deleted column to Done"],
  [{ kind: "card.moved", actor: "u-ann", data: { ...card, column_id: "c-done" } }, "k1", "ann moved this card to Done"],
  [{ kind: "checklist_item.updated", actor: "u-ben", data: { item: { ...item, done: true }, card: { id: "k1" } }, prev: item }, "k1", "ben ticked Write tests"],
  [{ kind: "checklist_item.updated", actor: "u-ben", data: { item: { ...item, done: true }, card: { id: "k1" } }, prev: item }, null, "ben ticked Write tests on Write docs"],
  [{ kind: "checklist_item.updated", actor: "u-ben", data: { item: { ...item, text: "Write more tests" }, card: { id: "k1" } }, prev: item }, "k1", "ben renamed the item Write tests to Write more tests"],
  [{ kind: "checklist_item.updated", actor: "u-ben", data: { item: { ...item, done: true }, card: { id: "k1" } } }, "k1", "ben changed the item Write tests"],
  [{ kind: "checklist_item.moved", actor: "u-ben", data: { item, card: { id: "k1" } }, prev: item }, "k1", "ben reordered Write tests"],
  [{ kind: "checklist_item.deleted", actor: "u-ben", data: { deleted: "i1", card: { id: "k1" } }, prev: item }, "k1", "ben deleted the item Write tests"],
  [{ kind: "checklist_item.created", actor: "u-ben", data: { item, card: { id: "k1" } } }, "k1", "ben added Write tests to a checklist"],
  [{ kind: "checklist_item.created", actor: "u-ben", data: { item, card: { id: "k1" } } }, "k1", "ben added Write tests to Steps", new Map([["checklist:l1", { seq: 1, state: { id: "l1", name: "Steps" } }]])],
  [{ kind: "checklist.created", actor: "u-ben", data: { checklist: { id: "l1", name: "Steps" }, card: { id: "k1" } } }, null, "ben added the checklist Steps to Write docs"],
  [{ kind: "card.updated", actor: "u-ann", data: { ...card, labels: [L1] }, prev: card }, "k1", "ann added the label Urgent to this card"],
  [{ kind: "card.updated", actor: "u-ann", data: { ...card, labels: ["free text"] }, prev: card }, "k1", "ann added the label free text to this card"],
  [{ kind: "card.updated", actor: "u-ann", data: card, prev: { ...card, labels: [GONE] } }, "k1", "ann removed the label a deleted label from this card"],
  [{ kind: "card.updated", actor: "u-ann", data: { ...card, title: "New", done: true }, prev: card }, null, "ann renamed Write docs to New and marked it done"],
  [{ kind: "card.updated", actor: "u-ann", data: { ...card, assignees: ["u-ben"], due: "2026-12-24" }, prev: card }, "k1", "ann set the due date of this card to 2026-12-24 and assigned ben to it"],
  [{ kind: "card.updated", actor: "u-ann", data: card }, "k1", "ann changed this card"],
  [{ kind: "card.created", actor: "u-ann", data: card }, "k1", "ann added this card to Doing"],
  [{ kind: "card.deleted", actor: "u-ann", data: { id: "k9" }, prev: { ...card, id: "k9", title: "Old card" } }, null, "ann deleted Old card"],
  [{ kind: "card.deleted", actor: "u-ann", data: { id: "k9" } }, null, "ann deleted a deleted card"],
  [{ kind: "comment.created", actor: "u-carl", data: { comment: { id: "m1", text: "hi\nthere" }, card: { id: "k1" } } }, "k1", "carl commented"],
  [{ kind: "comment.created", actor: "u-carl", data: { comment: { id: "m1", text: "hi" }, card: { id: "k9" } } }, null, "carl commented on a deleted card"],
  [{ kind: "comment.deleted", actor: "u-zed", data: { deleted: "m1", card: { id: "k1" } } }, "k1", "someone deleted a comment"],
  [{ kind: "attachment.created", actor: "u-ann", data: { attachment: { id: "a1", name: "spec.pdf" }, card: { id: "k1" } } }, "k1", "ann attached spec.pdf"],
  [{ kind: "attachment.deleted", actor: "u-ann", data: { attachment: { id: "a1", name: "spec.pdf" }, card: { id: "k1" } } }, null, "ann removed the attachment spec.pdf from Write docs"],
  [{ kind: "attachment.deleted", actor: "u-ann", data: { deleted: "a1", card: { id: "k1" } }, prev: { id: "a1", name: "spec.pdf" } }, "k1", "ann removed the attachment spec.pdf"],
  [{ kind: "attachment.deleted", actor: "u-ann", data: { deleted: "a1", card: { id: "k1" } } }, null, "ann removed an attachment from Write docs"],
  [{ kind: "checklist_item.deleted", actor: "u-ben", data: { deleted: "i1", card: { id: "k1" } } }, "k1", "ben deleted an item"],
  [{ kind: "column.deleted", actor: "u-ann", data: { id: "c-x", cards: "" } }, null, "ann deleted a column"],
  [{ kind: "label.deleted", actor: "u-ann", data: { id: L1, cards: [] } }, null, "ann deleted a label"],
  [{ kind: "label.deleted", actor: "u-ann", data: { id: L1, cards: ["k1"] }, prev: { id: L1, name: "Urgent" } }, "k1", "ann deleted the label Urgent, which this card had"],
  [{ kind: "label.created", actor: "u-ann", data: { id: L1, name: "Urgent", color: "red" } }, null, "ann created the label Urgent (red)"],
  [{ kind: "label.updated", actor: "u-ann", data: { id: L1, name: "Blocker", color: "red" }, prev: { id: L1, name: "Urgent", color: "red" } }, null, "ann renamed the label Urgent to Blocker"],
  [{ kind: "label.updated", actor: "u-ann", data: { id: L1, name: "Urgent", color: "blue" }, prev: { id: L1, name: "Urgent", color: "red" } }, null, "ann made the label Urgent blue"],
  [{ kind: "label.deleted", actor: "u-ann", data: { id: L1, cards: ["k1"] }, prev: { id: L1, name: "Urgent" } }, null, "ann deleted the label Urgent"],
  [{ kind: "column.updated", actor: "u-ann", data: { id: "c-done", name: "Done" }, prev: { id: "c-done", name: "Finished" } }, null, "ann renamed the column Finished to Done"],
  [{ kind: "column.deleted", actor: "u-ann", data: { id: "c-x", cards: "move", to: "c-done", moved: [card] }, prev: { id: "c-x", name: "Later" } }, "k1", "ann deleted the column Later, moving this card to Done"],
  [{ kind: "column.deleted", actor: "u-ann", data: { id: "c-x", cards: "delete", deleted: ["a", "b"] }, prev: { id: "c-x", name: "Later" } }, null, "ann deleted the column Later and its 2 cards"],
  [{ kind: "member.added", actor: "u-ann", data: { user_id: "u-ben", username: "ben", role: "editor" } }, null, "ann added ben as editor"],
  [{ kind: "member.updated", actor: "u-ann", data: { user_id: "u-ben", username: "ben", role: "viewer" } }, null, "ann made ben a viewer"],
  [{ kind: "member.removed", actor: "u-ben", data: { user_id: "u-ben", username: "ben", role: "editor" } }, null, "ben left the board"],
  [{ kind: "board.updated", actor: "u-ann", data: { id: "b", name: "New" }, prev: { id: "b", name: "Old" } }, null, "ann renamed the board Old to New"],
  [{ kind: "card.frobbed", actor: "u-ann", data: { id: "k1" } }, "k1", "ann changed this card"],
  [{ kind: "thing.happened", actor: "u-ann", data: { card: { id: "k1" } } }, null, "ann changed Write docs"],
  [{ kind: "thing.happened", actor: "u-ann", data: null }, null, "ann changed the board"],
];
let bad = 0;
for (const [e, scope, want, known] of cases) {
  const s = describe({ seq: 1, at: "2026-12-03T12:00:00Z", ...e }, { model, users, card: scope, known });
  const got = s ? sentenceText(s) : null;
  if (got !== want) { bad++; console.error("got  " + JSON.stringify(got) + "\nwant " + JSON.stringify(want)); }
}
const c = describe({ seq: 2, kind: "comment.created", actor: "u-carl", data: { comment: { text: "<img src=x onerror=alert(1)>" }, card: { id: "k1" } } }, { model, users, card: "k1" });
if (c.quote !== "<img src=x onerror=alert(1)>") { bad++; console.error("quote " + c.quote); }
for (const kind of ["cards.respaced", "columns.respaced"]) {
  if (describe({ seq: 3, kind, actor: "u-ann", data: { ranks: [] } }, { model, users, card: null }) !== null) { bad++; console.error(kind + " is shown"); }
}
console.log(bad ? "failed" : "ok");
`
	runModuleScript(t, "activity.js", script)
}
