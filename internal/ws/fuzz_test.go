package ws

import (
	"testing"

	"github.com/corkboard/corkboard/internal/board"
)

// FuzzDecodeFrame: any bytes decode to a frame or to a malformed error;
// never a panic, never another kind of error.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","board":"11111111-2222-3333-4444-555555555555","since":3}`,
		`{"type":"unsubscribe","board":"x"}`, `{"type":"ping","id":"1"}`,
		`{"type":`, `[]`, `null`, `{"since":1e400}`, `{"since":-1}`, "\xff", `{} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr clientFrame
		err := decodeFrame(data, &fr)
		if err != nil && board.ErrorCode(err) != board.EMalformed {
			t.Fatalf("decode %q: %v is not a malformed error", data, err)
		}
	})
}
