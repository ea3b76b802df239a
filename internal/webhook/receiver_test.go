package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// verifyHeaders is the receiver's own check of a Standard Webhooks
// signature, written from the specification without the package's code:
// the key is the base64 after whsec_; the signed content is
// id.timestamp.body; the header lists space-separated "v1,<base64>"
// signatures, one of which must match; the timestamp must be within five
// minutes of now.
func verifyHeaders(t testing.TB, secret, id string, now time.Time, header string, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret: %v", err)
	}
	return verifyRequest(key, id, strconv.FormatInt(now.Unix(), 10), header, body, now)
}

func verifyRequest(key []byte, id, ts, header string, body []byte, now time.Time) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %s off", ts, d)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%s.%s", id, ts, body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(header) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(raw, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// arrival is one request a receiver processed.
type arrival struct {
	id   string // webhook-id
	seq  int64
	kind string
	body []byte
	at   time.Time
}

// receiver is a webhook endpoint on loopback: /hook/<name> is one webhook.
// It verifies every request's signature with the secret registered for the
// name, notices two requests of one webhook at once, and records what it
// processed. behave decides the answer to the nth (from 0) request of a
// name: a status, and a wait before answering.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	secrets  map[string]string
	got      map[string][]arrival
	requests map[string]int
	inflight map[string]int
	overlaps int
	badSigs  []string
	behave   func(name string, n int, a arrival) (status int, wait time.Duration)
	onArrive func(name string, n int)
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{t: t, secrets: map[string]string{}, got: map[string][]arrival{}, requests: map[string]int{},
		inflight: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url(name string) string { return rc.srv.URL + "/hook/" + name }

func (rc *receiver) register(name, secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets[name] = secret
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/hook/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	a := arrival{id: r.Header.Get("webhook-id"), body: body, at: time.Now()}
	var frame struct {
		Type string `json:"type"`
		Seq  int64  `json:"seq"`
		Kind string `json:"kind"`
	}
	json.Unmarshal(body, &frame) //nolint:errcheck // checked below
	a.seq, a.kind = frame.Seq, frame.Kind

	rc.mu.Lock()
	n := rc.requests[name]
	rc.requests[name]++
	rc.inflight[name]++
	if rc.inflight[name] > 1 {
		rc.overlaps++
	}
	secret := rc.secrets[name]
	behave, onArrive := rc.behave, rc.onArrive
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err := verifyRequest(key, a.id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now()); err != nil || frame.Type != "event" ||
		r.Header.Get("Content-Type") != "application/json" {
		rc.badSigs = append(rc.badSigs, fmt.Sprintf("%s %s: %v (type %q)", name, a.id, err, frame.Type))
	}
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		rc.inflight[name]--
		rc.mu.Unlock()
	}()
	if onArrive != nil {
		onArrive(name, n)
	}
	status, wait := http.StatusOK, time.Duration(0)
	if behave != nil {
		status, wait = behave(name, n, a)
	}
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return // the sender gave up: nothing processed
		}
	}
	if status/100 == 2 {
		rc.mu.Lock()
		rc.got[name] = append(rc.got[name], a)
		rc.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (rc *receiver) arrivals(name string) []arrival {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]arrival(nil), rc.got[name]...)
}

// check fails the test for bad signatures and concurrent requests to one
// webhook.
func (rc *receiver) check(t testing.TB) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, s := range rc.badSigs {
		t.Errorf("bad request: %s", s)
	}
	if rc.overlaps > 0 {
		t.Errorf("%d times two requests of one webhook were in flight at once", rc.overlaps)
	}
}
