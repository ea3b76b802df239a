package webhook_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/webhook"
)

// The published Standard Webhooks test vector.
func TestSignStandardVector(t *testing.T) {
	got, err := webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	two, err := webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", webhook.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	if len(two) <= len(got)+1 || two[:len(got)+1] != got+" " {
		t.Fatalf("two secrets: %q, want the first signature then a space", two)
	}
}

func TestNewSecretVerifies(t *testing.T) {
	s := webhook.NewSecret()
	body := []byte(`{"a":1}`)
	ts := time.Now()
	sig, err := webhook.Sign("msg_x", ts, body, s)
	if err != nil {
		t.Fatal(err)
	}
	h := verifyHeaders(t, s, "msg_x", ts, sig, body)
	if h != nil {
		t.Fatal(h)
	}
	if webhook.NewSecret() == s {
		t.Fatal("two secrets alike")
	}
}

// The body is the WebSocket's event frame, byte for byte.
func TestBodyIsTheWebSocketFrame(t *testing.T) {
	e := board.Event{BoardID: "7b4a3c9e-1111-4222-8333-444455556666", Seq: 42, Kind: board.KindCardCreated,
		Data: []byte(`{"id":"x","title":"<b>\"hi\"</b> & ü"}`), Actor: "alice", OpID: "op-1",
		At: time.Date(2026, 12, 3, 8, 0, 0, 123456789, time.UTC)}
	got, err := webhook.Body(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := hub.EncodeEvent(e); !bytes.Equal(got, want) {
		t.Fatalf("body\n%s\nwant the WebSocket frame\n%s", got, want)
	}
}

// Retries wait exponentially longer, up to the maximum, each delay a random
// half to all of its step; over a day they are a few dozen.
func TestBackoff(t *testing.T) {
	w := webhook.New(webhook.Options{})
	total, tries := time.Duration(0), 0
	seen := map[time.Duration]bool{}
	for n := 1; total < 24*time.Hour; n++ {
		step := min(5*time.Second<<min(n-1, 20), time.Hour)
		d := webhook.Backoff(w, n)
		if d < step/2 || d > step {
			t.Fatalf("retry %d waits %s, want %s to %s", n, d, step/2, step)
		}
		seen[d] = true
		total += d
		tries++
	}
	if tries < 24 || tries > 60 || len(seen) < tries/2 {
		t.Fatalf("%d retries in a day (%d distinct delays)", tries, len(seen))
	}
}
