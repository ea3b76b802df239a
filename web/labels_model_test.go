package web

import (
	"testing"
)

// TestModelAppliesLabelEvents runs the page's model (static/js/model.js) in
// Node: the snapshot's labels load; label.created and label.updated set the
// label and touch every card that has it (so its chips are drawn again);
// label.deleted takes the label off exactly the cards its payload lists,
// without changing their versions, as board.Snapshot.Apply does.
func TestModelAppliesLabelEvents(t *testing.T) {
	script := `
import { BoardModel } from ` + pageModule(t, "static/js/model.js") + `;
const fail = (m) => { console.error(m); process.exit(1); };
const m = new BoardModel({ id: "u", username: "u" });
let ch = m.load({ board: { id: "b" }, seq: 5, members: [], labels: [{ id: "l1", name: "Bug", color: "red", version: 1 }],
  columns: [{ id: "c1", rank: "V", name: "todo" }],
  cards: [{ id: "a", column_id: "c1", rank: "V", title: "A", version: 3, labels: ["l1"] },
          { id: "b", column_id: "c1", rank: "W", title: "B", version: 1, labels: [] }] });
if (!ch.labels || m.label("l1").name !== "Bug") fail("load");
let r = m.apply({ seq: 6, kind: "label.created", op_id: "", data: { id: "l2", name: "ux", color: "sky", version: 1 } });
if (!r.change.labels || r.change.cards.size !== 0 || m.labelList().map((l) => l.name).join() !== "Bug,ux") fail("created " + JSON.stringify(m.labelList()));
r = m.apply({ seq: 7, kind: "card.updated", op_id: "", data: { id: "b", column_id: "c1", rank: "W", title: "B", version: 2, labels: ["l2", "l1"] } });
r = m.apply({ seq: 8, kind: "label.updated", op_id: "", data: { id: "l1", name: "Defect", color: "purple", version: 2 } });
if ([...r.change.cards].sort().join() !== "a,b" || m.label("l1").color !== "purple") fail("updated " + [...r.change.cards]);
r = m.apply({ seq: 9, kind: "label.deleted", op_id: "", data: { id: "l1", cards: ["a", "b"] } });
if ([...r.change.cards].sort().join() !== "a,b" || m.label("l1") !== null || m.labels.size !== 1) fail("deleted " + [...r.change.cards]);
const a = m.card("a"), b = m.card("b");
if (a.labels.length !== 0 || a.version !== 3 || b.labels.join() !== "l2" || b.version !== 2 || m.seq !== 9) fail("cards " + JSON.stringify([a, b]));
console.log("ok");
`
	runModuleScript(t, "model.js", script)
}
