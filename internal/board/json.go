package board

import (
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the JSON encoding of s to dst and returns the extended
// buffer. The bytes are exactly those of MarshalJSON(s) (a json.Encoder with
// SetEscapeHTML(false), without the newline): fields named and ordered by
// the struct tags, null for nil slices and pointers, times as
// time.Time.MarshalJSON writes them, strings escaped as encoding/json does
// without HTML escaping (<, > and & as themselves; U+2028 and U+2029
// escaped, invalid UTF-8 as \ufffd). It exists because json.Marshal, with reflection and its
// re-validation of every time, spends about 14 ms on a 10,000-card snapshot.
//
// The error is the one MarshalJSON would return too: a time that RFC 3339
// cannot express (a year outside [0, 9999]). dst is then returned as it was.
//
// A field added to Board, Member, Label, Column or Card must be added here as well;
// the tests in json_test.go fail until it is.
func (s Snapshot) AppendJSON(dst []byte) ([]byte, error) {
	e := jsonAppender{b: slices.Grow(dst, s.jsonSize())}
	s.encode(&e)
	if e.err != nil {
		return dst, e.err
	}
	return e.b, nil
}

// AppendJSON appends the JSON encoding of c to dst, the bytes of
// MarshalJSON(c), as Snapshot.AppendJSON does for a snapshot's cards (the
// same rules and the same error).
func (c Card) AppendJSON(dst []byte) ([]byte, error) {
	e := jsonAppender{b: slices.Grow(dst, c.jsonSize())}
	e.card(&c)
	if e.err != nil {
		return dst, e.err
	}
	return e.b, nil
}

// jsonSize is about the length of c's JSON (see Snapshot.jsonSize).
func (c *Card) jsonSize() int {
	const (
		card = 400 // the bytes besides its strings
		elem = 3   // of each string in a list: quotes and comma
	)
	n := card + len(c.ID) + len(c.BoardID) + len(c.ColumnID) + len(c.Title) + len(c.Description) +
		len(c.Rank) + len(c.CreatedBy)
	if c.Due != nil {
		n += len(*c.Due)
	}
	for _, l := range c.Labels {
		n += elem + len(l)
	}
	for _, a := range c.Assignees {
		n += elem + len(a)
	}
	return n
}

// jsonChunk is how much WriteJSON buffers before it writes.
const jsonChunk = 32 << 10

// WriteJSON writes the bytes of AppendJSON to w, a chunk of about 32 KiB at
// a time, so that a large snapshot is never whole in memory. On an error
// (a time RFC 3339 cannot express, or w's) part of the document may have
// been written: the caller must abandon the response.
func (s Snapshot) WriteJSON(w io.Writer) error {
	e := jsonAppender{b: make([]byte, 0, 2*jsonChunk), w: w}
	s.encode(&e)
	e.flush()
	return e.err
}

func (s *Snapshot) encode(e *jsonAppender) {
	e.raw(`{"board":`)
	e.board(&s.Board)
	e.raw(`,"members":`)
	appendList(e, s.Members, (*jsonAppender).member)
	e.raw(`,"labels":`)
	appendList(e, s.Labels, (*jsonAppender).label)
	e.raw(`,"columns":`)
	appendList(e, s.Columns, (*jsonAppender).column)
	e.raw(`,"cards":`)
	appendList(e, s.Cards, (*jsonAppender).card)
	e.int(`,"seq":`, s.Seq)
	e.b = append(e.b, '}')
}

// jsonSize is about the length of s's JSON, a little more unless its
// strings need escaping: AppendJSON grows the buffer once, not about twenty
// times by doubling to megabytes (which made it more than twice as slow).
func (s *Snapshot) jsonSize() int {
	const (
		board  = 300 // the bytes of each element besides its strings
		member = 100
		label  = 170
		column = 170
	)
	n := board + len(s.Board.ID) + len(s.Board.Name) + len(s.Board.Description) + len(s.Board.OwnerID) +
		len(s.Board.OwnerUsername) + len(s.Board.Role)
	for i := range s.Members {
		m := &s.Members[i]
		n += member + len(m.UserID) + len(m.Username) + len(m.Role)
	}
	for i := range s.Labels {
		l := &s.Labels[i]
		n += label + len(l.ID) + len(l.BoardID) + len(l.Name) + len(l.Color)
	}
	for i := range s.Columns {
		c := &s.Columns[i]
		n += column + len(c.ID) + len(c.BoardID) + len(c.Name) + len(c.Rank)
	}
	for i := range s.Cards {
		n += s.Cards[i].jsonSize()
	}
	return n
}

func (e *jsonAppender) board(b *Board) {
	e.str(`{"id":`, b.ID)
	e.str(`,"name":`, b.Name)
	e.str(`,"description":`, b.Description)
	e.str(`,"owner_id":`, b.OwnerID)
	e.str(`,"owner_username":`, b.OwnerUsername)
	if b.Role != "" { // omitempty
		e.str(`,"role":`, b.Role)
	}
	e.int(`,"version":`, b.Version)
	e.int(`,"seq":`, b.Seq)
	e.time(`,"created_at":`, b.CreatedAt)
	e.time(`,"updated_at":`, b.UpdatedAt)
	e.b = append(e.b, '}')
}

func (e *jsonAppender) member(m *Member) {
	e.str(`{"user_id":`, m.UserID)
	e.str(`,"username":`, m.Username)
	e.str(`,"role":`, m.Role)
	e.time(`,"added_at":`, m.AddedAt)
	e.b = append(e.b, '}')
}

func (e *jsonAppender) label(l *Label) {
	e.str(`{"id":`, l.ID)
	e.str(`,"board_id":`, l.BoardID)
	e.str(`,"name":`, l.Name)
	e.str(`,"color":`, l.Color)
	e.int(`,"version":`, l.Version)
	e.time(`,"created_at":`, l.CreatedAt)
	e.time(`,"updated_at":`, l.UpdatedAt)
	e.b = append(e.b, '}')
}

func (e *jsonAppender) column(c *Column) {
	e.str(`{"id":`, c.ID)
	e.str(`,"board_id":`, c.BoardID)
	e.str(`,"name":`, c.Name)
	e.str(`,"rank":`, c.Rank)
	e.int(`,"version":`, c.Version)
	e.time(`,"created_at":`, c.CreatedAt)
	e.time(`,"updated_at":`, c.UpdatedAt)
	e.b = append(e.b, '}')
}

func (e *jsonAppender) card(c *Card) {
	e.str(`{"id":`, c.ID)
	e.str(`,"board_id":`, c.BoardID)
	e.str(`,"column_id":`, c.ColumnID)
	e.str(`,"title":`, c.Title)
	e.str(`,"description":`, c.Description)
	e.raw(`,"labels":`)
	appendList(e, c.Labels, (*jsonAppender).string)
	if c.Due == nil {
		e.raw(`,"due":null`)
	} else {
		e.str(`,"due":`, *c.Due)
	}
	e.raw(`,"assignees":`)
	appendList(e, c.Assignees, (*jsonAppender).string)
	e.bool(`,"done":`, c.Done)
	e.str(`,"rank":`, c.Rank)
	e.bool(`,"archived":`, c.Archived)
	e.int(`,"version":`, c.Version)
	e.str(`,"created_by":`, c.CreatedBy)
	e.time(`,"created_at":`, c.CreatedAt)
	e.time(`,"updated_at":`, c.UpdatedAt)
	if c.ArchivedAt == nil {
		e.raw(`,"archived_at":null`)
	} else {
		e.time(`,"archived_at":`, *c.ArchivedAt)
	}
	e.int(`,"comment_count":`, int64(c.CommentCount))
	e.int(`,"checklist_done":`, int64(c.ChecklistDone))
	e.int(`,"checklist_total":`, int64(c.ChecklistTotal))
	e.int(`,"attachment_count":`, int64(c.AttachmentCount))
	if c.Cover == nil {
		e.raw(`,"cover":null`)
	} else {
		e.str(`,"cover":`, *c.Cover)
	}
	e.b = append(e.b, '}')
}

// jsonAppender appends JSON to b. Each method that writes a field takes the
// text before its value: the separator, the key and the colon.
type jsonAppender struct {
	b   []byte
	err error     // the first time that could not be encoded, or w's error
	w   io.Writer // if set, b is written to w a chunk at a time (WriteJSON)
}

// flush writes b to w and empties it; after an error it only empties it.
func (e *jsonAppender) flush() {
	if e.err == nil {
		if _, err := e.w.Write(e.b); err != nil {
			e.err = err
		}
	}
	e.b = e.b[:0]
}

// appendList appends xs as a JSON array, or null if it is nil, as
// encoding/json does.
func appendList[T any](e *jsonAppender, xs []T, elem func(*jsonAppender, *T)) {
	if xs == nil {
		e.raw("null")
		return
	}
	e.b = append(e.b, '[')
	for i := range xs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		elem(e, &xs[i])
		if e.w != nil && len(e.b) >= jsonChunk {
			e.flush()
		}
	}
	e.b = append(e.b, ']')
}

func (e *jsonAppender) raw(s string) { e.b = append(e.b, s...) }

func (e *jsonAppender) str(k, v string) {
	e.raw(k)
	e.string(&v)
}

func (e *jsonAppender) int(k string, v int64) {
	e.raw(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *jsonAppender) bool(k string, v bool) {
	e.raw(k)
	e.b = strconv.AppendBool(e.b, v)
}

// time appends t as time.Time.MarshalJSON does: RFC 3339 with as many digits
// of the fraction as needed.
func (e *jsonAppender) time(k string, t time.Time) {
	e.raw(k)
	e.b = append(e.b, '"')
	b, err := t.AppendText(e.b)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.b = append(b, '"')
}

// string appends *s as a JSON string escaped as encoding/json escapes it
// without HTML escaping (its appendString with escapeHTML false).
func (e *jsonAppender) string(s *string) {
	const hex = "0123456789abcdef"
	b, src := append(e.b, '"'), *s
	start := 0 // src[start:i] is still to be copied
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, src[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control characters
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == utf8.RuneError && size == 1: // invalid UTF-8
			b = append(b, src[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, src[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, src[start:]...)
	e.b = append(b, '"')
}

// jsonSafe says which ASCII bytes stand for themselves in a JSON string
// written by encoding/json without HTML escaping: not control characters,
// the quote nor the backslash.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := byte(' '); c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\'
	}
	return safe
}()
