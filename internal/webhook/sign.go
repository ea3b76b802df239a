package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/corkboard/corkboard/internal/board"
)

// Headers of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// MessageID is the webhook-id of the event seq of a webhook's board: the
// same for every attempt and redelivery of that event to that webhook, so a
// receiver deduplicates by it.
func MessageID(webhookID, boardID string, seq int64) string {
	return "msg_" + strings.ReplaceAll(webhookID, "-", "") + "_" + strings.ReplaceAll(boardID, "-", "") + "_" + strconv.FormatInt(seq, 10)
}

// Sign returns the webhook-signature value for the message: "v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body" keyed with each secret (the
// base64 after whsec_), space-separated.
func Sign(id string, ts time.Time, body []byte, secrets ...string) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if err != nil {
			return "", fmt.Errorf("decode webhook secret: %w", err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}

// eventFrame is an event as the WebSocket sends it (see hub.EncodeEvent;
// a test keeps the two byte-identical).
type eventFrame struct {
	Type string `json:"type"`
	board.Event
}

// Body is the request body delivering e: the event frame of the WebSocket
// protocol.
func Body(e board.Event) ([]byte, error) {
	b, err := board.MarshalJSON(eventFrame{Type: "event", Event: e})
	if err != nil {
		return nil, fmt.Errorf("encode event %d: %w", e.Seq, err)
	}
	return b, nil
}
