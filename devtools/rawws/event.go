//go:build linux

package rawws

import (
	"bytes"
	"strconv"
)

// Event is what the load tools need of a Corkboard event frame: its board,
// seq and op_id (slices of the frame).
type Event struct {
	Board []byte
	Seq   int64
	Op    []byte
}

var eventPrefix = []byte(`{"type":"event","board":"`)

// ParseEvent reads the board, seq and op_id of an event frame as the hub
// encodes it ({"type":"event","board":"<id>","seq":N,...,"op_id":"...",...})
// without decoding the rest; anything else (ok false) is left to
// encoding/json. The test checks it against the hub's encoder.
func ParseEvent(b []byte) (Event, bool) {
	if !bytes.HasPrefix(b, eventPrefix) {
		return Event{}, false
	}
	rest := b[len(eventPrefix):]
	q := bytes.IndexByte(rest, '"')
	if q < 0 || bytes.IndexByte(rest[:q], '\\') >= 0 {
		return Event{}, false
	}
	f := Event{Board: rest[:q]}
	rest = rest[q+1:]
	if !bytes.HasPrefix(rest, []byte(`,"seq":`)) {
		return Event{}, false
	}
	rest = rest[len(`,"seq":`):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	seq, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	if err != nil || n == 0 || n >= len(rest) || (rest[n] != ',' && rest[n] != '}') {
		return Event{}, false
	}
	f.Seq = seq
	// op_id follows data, which is JSON: a literal "op_id":" can only be a
	// key, and the last one is the frame's own.
	i := bytes.LastIndex(rest, []byte(`"op_id":"`))
	if i < 0 {
		return Event{}, false
	}
	op := rest[i+len(`"op_id":"`):]
	q = bytes.IndexByte(op, '"')
	if q < 0 || bytes.IndexByte(op[:q], '\\') >= 0 {
		return Event{}, false
	}
	f.Op = op[:q]
	return f, true
}

var presencePrefix = []byte(`{"type":"presence","board":"`)

// IsPresence reports whether b is a presence frame as the hub encodes it
// ({"type":"presence","board":...,"users":[...],"count":N}), by its start
// alone. A presence frame carries the board's viewer list — up to 100
// ids, about 4 KB — and a board's subscribers get one each time the set
// changes, so thousands of subscribers joining one board are gigabytes of
// them; decoding each with encoding/json (about 150 MB/s) made the load
// tools, not the server, the ones behind on a busy machine. The tools only
// count them.
func IsPresence(b []byte) bool {
	return bytes.HasPrefix(b, presencePrefix) && b[len(b)-1] == '}'
}
