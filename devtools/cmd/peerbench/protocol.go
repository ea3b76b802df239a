//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/hub"
)

// The change both servers carry is a Corkboard card event: for Corkboard
// the server makes it from a card PATCH; for Centrifugo peerbench publishes
// the same bytes (what Corkboard's hub would send for that PATCH) as the
// publication's data, so both deliver a message of the same size and the
// client parses the same event out of each.

// cardEvent is the event frame Corkboard sends for PATCH {"title":"load op
// k"} on a card of a one-column board (its data is the whole card, as the
// store makes it), with seq k+1 and op_id opPrefix+k.
func cardEvent(boardID string, k int, opPrefix string, at time.Time) []byte {
	id := func(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }
	card := board.Card{
		ID: id(3), BoardID: boardID, ColumnID: id(2), Title: "load op " + strconv.Itoa(k),
		Labels: []string{}, Assignees: []string{}, Rank: "V", Version: int64(k + 2),
		CreatedBy: id(4), CreatedAt: at.Add(-time.Minute), UpdatedAt: at,
	}
	data, err := json.Marshal(card)
	if err != nil {
		panic(err) // a board.Card always encodes
	}
	return hub.EncodeEvent(board.Event{BoardID: boardID, Seq: int64(k + 1), Kind: board.KindCardUpdated,
		Data: data, Actor: id(4), OpID: opPrefix + strconv.Itoa(k), At: at})
}

// Centrifugo's client protocol (JSON, v2 as in Centrifugo 4 to 6): commands
// {"id":N,"connect":{...}} then {"id":N,"subscribe":{"channel":...}};
// replies {"id":N,"connect":{...}} or {"id":N,"error":{...}}; publications
// as {"push":{"channel":...,"pub":{"data":...}}}; the server's ping is an
// empty object {} which the client answers with {}. Several replies may
// share one WebSocket message, one per line.

const (
	ccConnectID   = 1
	ccSubscribeID = 2
)

// ccConnect and ccSubscribe are the commands a subscriber sends after the
// handshake (insecure client mode: no token).
func ccConnect() []byte {
	return []byte(`{"id":` + strconv.Itoa(ccConnectID) + `,"connect":{"name":"peerbench"}}`)
}

func ccSubscribe(channel string) []byte {
	b, _ := json.Marshal(map[string]any{"id": ccSubscribeID, "subscribe": map[string]string{"channel": channel}})
	return b
}

// ccKind is what a line from Centrifugo is.
type ccKind int

const (
	ccUnknown ccKind = iota
	ccPing           // {}: answer {}
	ccPub            // a publication: data
	ccReply          // a reply to command id, possibly an error
)

// ccFrame is one line from Centrifugo, parsed.
type ccFrame struct {
	kind    ccKind
	channel []byte // ccPub
	data    []byte // ccPub: the publication's data
	id      int    // ccReply
	err     string // ccReply: the error, if any
}

var ccPushPrefix = []byte(`{"push":{"channel":"`)

// parseCCFrame reads one line. Publications take a fast path
// ({"push":{"channel":"<c>","pub":{"data":<data>}}}, as Centrifugo encodes
// them with no history) that does not decode the data; anything else goes
// through encoding/json.
func parseCCFrame(line []byte) (ccFrame, error) {
	if len(line) == 2 && line[0] == '{' && line[1] == '}' {
		return ccFrame{kind: ccPing}, nil
	}
	if bytes.HasPrefix(line, ccPushPrefix) {
		rest := line[len(ccPushPrefix):]
		q := bytes.IndexByte(rest, '"')
		if q >= 0 && bytes.IndexByte(rest[:q], '\\') < 0 {
			ch := rest[:q]
			rest = rest[q+1:]
			const mid, end = `,"pub":{"data":`, `}}}`
			if bytes.HasPrefix(rest, []byte(mid)) && bytes.HasSuffix(rest, []byte(end)) &&
				len(rest) > len(mid)+len(end) {
				data := rest[len(mid) : len(rest)-len(end)]
				if data[len(data)-1] == '}' && !trailingPubField(data) {
					return ccFrame{kind: ccPub, channel: ch, data: data}, nil
				}
			}
		}
	}
	var f struct {
		ID    int `json:"id"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Push *struct {
			Channel string `json:"channel"`
			Pub     *struct {
				Data json.RawMessage `json:"data"`
			} `json:"pub"`
		} `json:"push"`
	}
	if err := json.Unmarshal(line, &f); err != nil {
		return ccFrame{}, fmt.Errorf("undecodable frame %.200q: %w", line, err)
	}
	switch {
	case f.Push != nil && f.Push.Pub != nil:
		return ccFrame{kind: ccPub, channel: []byte(f.Push.Channel), data: f.Push.Pub.Data}, nil
	case f.ID > 0 && f.Error != nil:
		return ccFrame{kind: ccReply, id: f.ID, err: fmt.Sprintf("%d %s", f.Error.Code, f.Error.Message)}, nil
	case f.ID > 0:
		return ccFrame{kind: ccReply, id: f.ID}, nil
	}
	return ccFrame{kind: ccUnknown}, nil
}

// pubFields are the keys Centrifugo may encode after a publication's data.
var pubFields = [][]byte{[]byte(`info"`), []byte(`offset"`), []byte(`tags"`), []byte(`delta"`), []byte(`time"`), []byte(`channel"`)}

// trailingPubField reports whether what the fast path took for an object's
// data may end with more of the publication's fields ({...},"offset":3):
// the last `},"` is followed by one of their keys. A data object with such
// a key inside is a false alarm, which only sends it to encoding/json.
func trailingPubField(data []byte) bool {
	i := bytes.LastIndex(data, []byte(`},"`))
	if i < 0 {
		return false
	}
	after := data[i+3:]
	for _, f := range pubFields {
		if bytes.HasPrefix(after, f) {
			return true
		}
	}
	return false
}
