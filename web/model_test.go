package web

import (
	"testing"
)

// TestModelAppliesRespacing runs the page's model (static/js/model.js) in
// Node: cards.respaced and columns.respaced give the listed items their new
// ranks, change nothing else, report the touched items, and advance seq.
func TestModelAppliesRespacing(t *testing.T) {
	script := `
import { BoardModel } from ` + pageModule(t, "static/js/model.js") + `;
const fail = (m) => { console.error(m); process.exit(1); };
const m = new BoardModel({ id: "u", username: "u" });
m.load({ board: { id: "b" }, seq: 5, members: [],
  columns: [{ id: "c1", rank: "V", name: "todo" }, { id: "c2", rank: "W", name: "done" }],
  cards: [{ id: "a", column_id: "c1", rank: "V", title: "A", version: 3 },
          { id: "b", column_id: "c1", rank: "VV", title: "B", version: 1 },
          { id: "x", column_id: "c2", rank: "V", title: "X", version: 1 }] });
let r = m.apply({ seq: 6, kind: "cards.respaced", op_id: "",
  data: { column_id: "c1", ranks: [{ id: "a", rank: "F" }, { id: "b", rank: "k" }] } });
if ([...r.change.cards].sort().join() !== "a,b") fail("touched cards " + [...r.change.cards]);
const a = m.cards.get("a");
if (a.rank !== "F" || a.title !== "A" || a.version !== 3 || m.cards.get("b").rank !== "k") fail("cards " + JSON.stringify([...m.cards.values()]));
if (m.cards.get("x").rank !== "V") fail("a card of another column changed");
r = m.apply({ seq: 7, kind: "columns.respaced", op_id: "", data: { ranks: [{ id: "c1", rank: "G" }, { id: "c2", rank: "g" }] } });
if ([...r.change.columns].sort().join() !== "c1,c2" || m.columns.get("c1").rank !== "G" ||
    m.columns.get("c2").name !== "done" || m.seq !== 7) fail("columns " + JSON.stringify([...m.columns.values()]));
console.log("ok");
`
	runModuleScript(t, "model.js", script)
}
