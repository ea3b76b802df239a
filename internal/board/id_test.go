package board_test

import (
	"regexp"
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

// idPattern is what ValidID accepts, as a regular expression.
var idPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func FuzzValidID(f *testing.F) {
	for _, s := range []string{
		"6f1c2a9e-0000-4000-8000-000000000001", "6F1C2A9E-0000-4000-8000-000000000001", "6f1c2a9e00000-4000-8000-000000000001",
		"6f1c2a9e-0000-4000-8000-00000000000", "6f1c2a9e-0000-4000-8000-0000000000011", "6f1c2a9e-0000-4000-8000-00000000000g",
		"6f1c2a9e-0000-4000-8000-000000000001\n", "", "-", "6f1c2a9e-0000-4000-8000_000000000001", "6f1c2a9é-000-4000-8000-000000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := board.ValidID(s), idPattern.MatchString(s); got != want {
			t.Fatalf("ValidID(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
