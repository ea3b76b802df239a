package natsbus

import (
	"sync"

	"github.com/corkboard/corkboard/internal/board"
)

// EventMessage is the message of a committed event. Its payload is
// board.AppendEvent's, which EventHandler reads with board.ParseEvent.
func EventMessage(e board.Event) (Message, error) { return appendEventMessage(nil, e) }

// appendEventMessage is EventMessage with its payload appended to buf.
func appendEventMessage(buf []byte, e board.Event) (Message, error) {
	data, err := board.AppendEvent(buf, e)
	if err != nil {
		return Message{}, err
	}
	return Message{Kind: KindEvent, Board: e.BoardID, Payload: data}, nil
}

// SendEvent sends the message of a committed event (EventMessage's) to the
// instances that joined its board, as Send does; nothing at all, not even
// the encoding, while nobody could receive it (see Send). The payload is
// built in a buffer that is reused once the connection has copied it.
func (b *Bus) SendEvent(e board.Event) error {
	if b.unheard() {
		return nil
	}
	buf := eventBufs.Get().(*[]byte)
	m, err := appendEventMessage((*buf)[:0], e)
	if err == nil {
		err = b.publish(m)
		if cap(m.Payload) <= maxPooledEvent {
			*buf = m.Payload[:0]
		}
	}
	eventBufs.Put(buf)
	return err
}

// eventBufs holds SendEvent's buffers, up to maxPooledEvent bytes each.
var eventBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledEvent = 64 << 10
