package board

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON encodes v as JSON without HTML escaping: the bytes of a
// json.Encoder with SetEscapeHTML(false), without its trailing newline.
// Every JSON the server sends (HTTP bodies, WebSocket frames, webhook
// bodies) and every event payload it stores is encoded this way: served as
// application/json, < > and & need no escaping, and escaping them made a
// description of 10,000 '<' six times its size (\u003c) on the wire.
// Raw JSON inside v (an Event's Data) is compacted, not re-escaped.
func MarshalJSON(v any) ([]byte, error) {
	if c, ok := v.(Card); ok { // every card change's payload and response
		return c.AppendJSON(nil)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
