// Package webhook delivers a board's events to the HTTP endpoints its owners
// register, following the Standard Webhooks specification
// (https://www.standardwebhooks.com): every request carries webhook-id,
// webhook-timestamp and webhook-signature headers, and its body is the event
// exactly as the WebSocket sends it.
//
// Delivery is at least once and in seq order per webhook. Each webhook's
// cursor (the board seq of the last event it delivered) is kept in
// PostgreSQL, and an instance sends a webhook's events only while it holds
// the webhook's lease there, so any number of instances run a Worker and
// each event has one delivery stream. A failed delivery is retried with
// exponential backoff and jitter, holding back the events after it; after
// RetryFor of failures the webhook is disabled with the reason. Outbound
// requests go only to public addresses unless AllowPrivateNetworks (see
// Guard).
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corkboard/corkboard/internal/board"
)

// Webhook is an endpoint registered on a board. Secret is set only in the
// answers that create it or rotate it (and for the Worker).
type Webhook struct {
	ID             string   `json:"id"`
	BoardID        string   `json:"board_id"`
	URL            string   `json:"url"`
	Kinds          []string `json:"kinds"` // empty: every kind
	Active         bool     `json:"active"`
	DisabledReason string   `json:"disabled_reason"`
	Secret         string   `json:"secret,omitempty"`
	// Cursor is the seq of the last event delivered (or skipped by Kinds).
	Cursor        int64      `json:"cursor"`
	Attempts      int        `json:"attempts"`      // failed attempts at the event after Cursor
	FailingSince  *time.Time `json:"failing_since"` // since when it fails, or null
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`

	// For the Worker: the secret signing besides Secret until PreviousUntil
	// after a rotation.
	PreviousSecret string    `json:"-"`
	PreviousUntil  time.Time `json:"-"`
}

// Wants reports whether the webhook delivers events of this kind.
func (w *Webhook) Wants(kind string) bool {
	return len(w.Kinds) == 0 || slices.Contains(w.Kinds, kind) || kind == board.KindBoardDeleted
}

// Delivery is one attempt in a webhook's delivery log.
type Delivery struct {
	ID         int64   `json:"id"`
	WebhookID  string  `json:"webhook_id"`
	MessageID  string  `json:"message_id"` // the webhook-id header
	Seq        int64   `json:"seq"`        // 0 for a test event
	Kind       string  `json:"kind"`
	Trigger    string  `json:"trigger"` // TriggerEvent, TriggerTest or TriggerRedeliver
	Attempt    int     `json:"attempt"`
	OK         bool    `json:"ok"`
	StatusCode int     `json:"status_code"` // 0: no response
	Error      string  `json:"error"`
	LatencyMS  float64 `json:"latency_ms"`
	// NextRetryAt is when a failed event delivery is tried again (null: not).
	NextRetryAt *time.Time `json:"next_retry_at"`
	At          time.Time  `json:"at"`
}

// What caused a delivery.
const (
	TriggerEvent     = "event"     // the stream of the board's events
	TriggerTest      = "test"      // an owner's "send test event"
	TriggerRedeliver = "redeliver" // an owner's redelivery of a logged delivery
)

// Job is a delivery an owner asked for: a test event, or the redelivery of
// the event Seq.
type Job struct {
	ID      string    `json:"id"`
	Trigger string    `json:"trigger"`
	Seq     int64     `json:"seq"`
	Actor   string    `json:"-"`
	At      time.Time `json:"requested_at"`
}

// KindTest is the kind of a test event.
const KindTest = "webhook.test"

// Input is a new webhook.
type Input struct {
	URL    string   `json:"url"`
	Kinds  []string `json:"kinds"`
	Active *bool    `json:"active"`
}

// Patch changes some of a webhook's settings (nil: unchanged). Activating a
// disabled webhook clears its failure and reason; it resumes after its
// cursor.
type Patch struct {
	URL    *string   `json:"url"`
	Kinds  *[]string `json:"kinds"`
	Active *bool     `json:"active"`
}

// Limits.
const (
	MaxURLLen       = 2000
	MaxPerBoard     = 10
	MaxPendingJobs  = 20
	MaxLogPageLimit = 200
)

// Kinds are the event kinds a webhook can filter on: every kind of the
// board's log.
var Kinds = board.EventKinds

// CheckURL returns EInvalid (field url) unless raw is an absolute http or
// https URL with a host, no fragment, and at most MaxURLLen characters.
// Where it points is checked when it is dialled (see Guard).
func CheckURL(raw string) error {
	if raw == "" {
		return board.FieldError(board.EInvalid, "url", "is required")
	}
	if len(raw) > MaxURLLen || !utf8.ValidString(raw) {
		return board.FieldError(board.EInvalid, "url", "must be at most %d characters of UTF-8", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return board.FieldError(board.EInvalid, "url", "is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return board.FieldError(board.EInvalid, "url", "must be an http or https URL")
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return board.FieldError(board.EInvalid, "url", "must name a host, as https://example.com/hook")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return board.FieldError(board.EInvalid, "url", "must not have a #fragment")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return board.FieldError(board.EInvalid, "url", "must not contain spaces")
	}
	return nil
}

// CheckKinds returns the kinds sorted without duplicates, or EInvalid (field
// kinds) naming one that is not in Kinds.
func CheckKinds(kinds []string) ([]string, error) {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		if !slices.Contains(Kinds, k) {
			if len(k) > 64 {
				k = k[:64] + "…"
			}
			return nil, board.FieldError(board.EInvalid, "kinds", "%q is not an event kind (one of %s)", k, strings.Join(Kinds, ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret in the Standard Webhooks form:
// whsec_ and the base64 of 32 random bytes, the HMAC key.
func NewSecret() string {
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // crypto/rand.Read never fails
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}
