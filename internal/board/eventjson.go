package board

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// AppendEvent appends e as JSON to dst and returns the extended buffer:
// exactly the bytes of MarshalJSON(e), which ParseEvent reads back (the
// payload of an event on the bus, the body of an event frame). A committed
// event's Data is already compact JSON (the store encodes it with
// MarshalJSON), and its strings are ids and kinds: those are appended as
// they are, after one pass that checks that they need nothing done, instead
// of through encoding/json's reflection and its second validation and
// compaction of Data. Any other event (Data not compact or not JSON, a
// string that needs escaping, a time RFC 3339 cannot express) is encoded by
// MarshalJSON itself, with its error. On an error dst is returned as it
// was.
func AppendEvent(dst []byte, e Event) ([]byte, error) {
	if !plainString(e.BoardID) || !plainString(e.Kind) || !plainString(e.Actor) || !plainString(e.OpID) ||
		!compactJSON(e.Data) {
		return marshalEvent(dst, e)
	}
	b := slices.Grow(dst, EventJSONBound(e))
	b = append(b, `{"board":"`...)
	b = append(b, e.BoardID...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	if e.Position != 0 {
		b = append(b, `,"position":`...)
		b = strconv.AppendInt(b, e.Position, 10)
	}
	b = append(b, `,"kind":"`...)
	b = append(b, e.Kind...)
	b = append(b, `","data":`...)
	b = append(b, e.Data...)
	b = append(b, `,"actor":"`...)
	b = append(b, e.Actor...)
	b = append(b, `","op_id":"`...)
	b = append(b, e.OpID...)
	b = append(b, `","at":"`...)
	b, err := e.At.AppendText(b)
	if err != nil { // a year or a zone offset RFC 3339 cannot express
		return marshalEvent(dst, e)
	}
	return append(b, `"}`...), nil
}

// EventJSONBound is the most bytes AppendEvent appends for e when it needs
// no escaping: what to reserve for it, to append it without growing.
func EventJSONBound(e Event) int {
	// The fixed bytes, two int64s and a time take at most 154.
	return 160 + len(e.BoardID) + len(e.Kind) + len(e.Data) + len(e.Actor) + len(e.OpID)
}

// marshalEvent is AppendEvent's slow path.
func marshalEvent(dst []byte, e Event) ([]byte, error) {
	data, err := MarshalJSON(e)
	if err != nil {
		return dst, fmt.Errorf("encode event %d of board %s: %w", e.Seq, e.BoardID, err)
	}
	return append(dst, data...), nil
}

// plainString reports whether s is its own JSON string body (plainByte).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return true
}

// plainByte reports whether c stands for itself in a JSON string body:
// printable ASCII but a quote or a backslash.
func plainByte(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }

// maxCompactDepth is the deepest nesting compactJSON follows; deeper
// documents take the slow path (encoding/json refuses past 10,000).
const maxCompactDepth = 64

// compactJSON reports whether b is one JSON value without any whitespace
// between its tokens: what encoding/json's compaction would leave as it is.
// It accepts what encoding/json accepts inside strings (any byte from 0x20
// up, so also invalid UTF-8, which compaction copies unchanged), and
// nothing more; false only means "take the slow path".
func compactJSON(b []byte) bool {
	c := compactChecker{b: b}
	return c.value(0) && c.i == len(b)
}

type compactChecker struct {
	b []byte
	i int
}

func (c *compactChecker) value(depth int) bool {
	if c.i >= len(c.b) {
		return false
	}
	switch ch := c.b[c.i]; {
	case ch == '{':
		return c.container(depth, '}', func() bool { return c.peek('"') && c.str() && c.peek(':') && c.value(depth+1) })
	case ch == '[':
		return c.container(depth, ']', func() bool { return c.value(depth + 1) })
	case ch == '"':
		c.i++
		return c.str()
	case ch == '-' || ch >= '0' && ch <= '9':
		return c.number()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	}
	return false
}

// container checks an object or an array whose opening byte is next: items
// separated by commas, then end.
func (c *compactChecker) container(depth int, end byte, item func() bool) bool {
	if depth >= maxCompactDepth {
		return false
	}
	c.i++
	if c.peek(end) {
		return true
	}
	for {
		if !item() {
			return false
		}
		if c.peek(end) {
			return true
		}
		if !c.peek(',') {
			return false
		}
	}
}

// peek consumes ch if it is the next byte.
func (c *compactChecker) peek(ch byte) bool {
	if c.i < len(c.b) && c.b[c.i] == ch {
		c.i++
		return true
	}
	return false
}

func (c *compactChecker) literal(s string) bool {
	if len(c.b)-c.i < len(s) || string(c.b[c.i:c.i+len(s)]) != s {
		return false
	}
	c.i += len(s)
	return true
}

// str checks a string's body and its closing quote (the opening one is
// consumed).
func (c *compactChecker) str() bool {
	for c.i < len(c.b) {
		ch := c.b[c.i]
		c.i++
		switch {
		case ch == '"':
			return true
		case ch < 0x20:
			return false
		case ch == '\\':
			if c.i >= len(c.b) {
				return false
			}
			esc := c.b[c.i]
			c.i++
			switch esc {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(c.b)-c.i < 4 {
					return false
				}
				for _, h := range c.b[c.i : c.i+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				c.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (c *compactChecker) number() bool {
	c.peek('-')
	if c.peek('0') {
		// no more digits after a leading zero
	} else if !c.digits() {
		return false
	}
	if c.peek('.') && !c.digits() {
		return false
	}
	if c.peek('e') || c.peek('E') {
		if !c.peek('+') {
			c.peek('-')
		}
		if !c.digits() {
			return false
		}
	}
	return true
}

// digits consumes one or more decimal digits.
func (c *compactChecker) digits() bool {
	start := c.i
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		c.i++
	}
	return c.i > start
}

// ParseEvent decodes an event exactly as json.Unmarshal into an Event
// does: the same event, or an error where it fails. The layout AppendEvent
// writes (keys in its order, strings that need no unescaping, compact data)
// is read in one pass, with Data a slice of payload rather than a copy (so
// payload must not change afterwards: a message received from the bus is
// its own); anything else goes to json.Unmarshal.
func ParseEvent(payload []byte) (Event, error) {
	if e, ok := parsePlainEvent(payload); ok {
		return e, nil
	}
	var e Event
	err := json.Unmarshal(payload, &e)
	return e, err
}

// parsePlainEvent reads AppendEvent's layout; false means "not that
// layout", not "invalid".
func parsePlainEvent(p []byte) (Event, bool) {
	r := eventReader{compactChecker{b: p}}
	var e Event
	var ok bool
	if !r.literal(`{"board":"`) {
		return e, false
	}
	if e.BoardID, ok = r.plain(); !ok || !r.literal(`,"seq":`) {
		return e, false
	}
	if e.Seq, ok = r.integer(); !ok {
		return e, false
	}
	if r.literal(`,"position":`) {
		if e.Position, ok = r.integer(); !ok {
			return e, false
		}
	}
	if !r.literal(`,"kind":"`) {
		return e, false
	}
	if e.Kind, ok = r.plain(); !ok || !r.literal(`,"data":`) {
		return e, false
	}
	data := r.i
	if !r.value(0) {
		return e, false
	}
	e.Data = p[data:r.i:r.i]
	if !r.literal(`,"actor":"`) {
		return e, false
	}
	if e.Actor, ok = r.plain(); !ok || !r.literal(`,"op_id":"`) {
		return e, false
	}
	if e.OpID, ok = r.plain(); !ok || !r.literal(`,"at":"`) {
		return e, false
	}
	start := r.i
	if _, ok = r.plain(); !ok || r.i != len(p)-1 || p[r.i] != '}' {
		return e, false
	}
	if err := e.At.UnmarshalText(p[start : r.i-1]); err != nil {
		return e, false // json.Unmarshal says why
	}
	return e, true
}

// eventReader reads parsePlainEvent's layout.
type eventReader struct{ compactChecker }

// plain reads a string body up to and including its closing quote, when
// all of it is plainByte's.
func (r *eventReader) plain() (string, bool) {
	for j := r.i; j < len(r.b); j++ {
		if c := r.b[j]; c == '"' {
			s := string(r.b[r.i:j])
			r.i = j + 1
			return s, true
		} else if !plainByte(c) {
			return "", false
		}
	}
	return "", false
}

// integer reads -?(0|[1-9][0-9]*) that fits an int64.
func (r *eventReader) integer() (int64, bool) {
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	digits := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	if r.i == digits || r.b[digits] == '0' && r.i > digits+1 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	return n, err == nil
}
