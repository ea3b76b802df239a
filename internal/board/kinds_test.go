package board_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

// TestEventKindsComplete: every Kind… constant of the package is in
// EventKinds once, so a new kind of event cannot be left out of the list
// that consumers filter by.
func TestEventKindsComplete(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Kind") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						consts = append(consts, v)
					}
				}
				return true
			})
		}
	}
	if len(consts) < 20 {
		t.Fatalf("found only %d Kind constants: %v", len(consts), consts)
	}
	for _, k := range consts {
		if n := strings.Count(","+strings.Join(board.EventKinds, ",")+",", ","+k+","); n != 1 {
			t.Errorf("kind %q is in EventKinds %d times, want once", k, n)
		}
	}
	if len(board.EventKinds) != len(consts) {
		t.Errorf("EventKinds has %d kinds, the package declares %d", len(board.EventKinds), len(consts))
	}
	if !slices.Contains(board.EventKinds, board.KindBoardDeleted) {
		t.Error("board.deleted missing")
	}
}
