package hub

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestPresenceFrameCapsUsers(t *testing.T) {
	for _, n := range []int{0, 1, MaxPresenceUsers, MaxPresenceUsers + 50} {
		users := make([]string, n)
		for i := range users {
			users[i] = fmt.Sprintf("u%04d", i)
		}
		var f presenceFrame
		if err := json.Unmarshal(encodePresence("b", users), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != FramePresence || f.Board != "b" || f.Count != n || f.Users == nil ||
			len(f.Users) != min(n, MaxPresenceUsers) {
			t.Errorf("%d users: got %+v", n, f)
		}
		if n > 0 && f.Users[0] != "u0000" {
			t.Errorf("%d users: the list must keep the order it was given", n)
		}
	}
}
