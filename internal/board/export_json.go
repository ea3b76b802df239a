package board

import (
	"bufio"
	"bytes"
	"io"
	"time"
)

// WriteJSON writes the bytes of MarshalJSON(x) to w, a card at a time
// through a 32 KiB buffer, so that a large export is never whole in memory.
// On an error (an unencodable time, or w's) part of the document may have
// been written: the caller must abandon the response.
func (x Export) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, jsonChunk)
	// Columns and a column's Cards are the last fields: write the rest as
	// an object left open, then the list element by element.
	head, err := MarshalJSON(struct {
		Format     string        `json:"format"`
		Version    int           `json:"version"`
		ExportedAt time.Time     `json:"exported_at"`
		Board      ExportBoard   `json:"board"`
		Members    []Member      `json:"members"`
		Labels     []ExportLabel `json:"labels"`
	}{x.Format, x.Version, x.ExportedAt, x.Board, x.Members, x.Labels})
	if err != nil {
		return err
	}
	bw.Write(bytes.TrimSuffix(head, []byte{'}'})) //nolint:errcheck // bw keeps the error for Flush
	bw.WriteString(`,"columns":`)                 //nolint:errcheck
	if err := writeList(bw, x.Columns, writeColumn); err != nil {
		return err
	}
	bw.WriteByte('}') //nolint:errcheck
	return bw.Flush()
}

func writeColumn(bw *bufio.Writer, c *ExportColumn) error {
	head, err := MarshalJSON(struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}{c.ID, c.Name})
	if err != nil {
		return err
	}
	bw.Write(bytes.TrimSuffix(head, []byte{'}'})) //nolint:errcheck // bw keeps the error for Flush
	bw.WriteString(`,"cards":`)                   //nolint:errcheck
	if err := writeList(bw, c.Cards, func(bw *bufio.Writer, card *ExportCard) error {
		b, err := MarshalJSON(card)
		bw.Write(b) //nolint:errcheck
		return err
	}); err != nil {
		return err
	}
	return bw.WriteByte('}')
}

// writeList writes xs as a JSON array (null if nil), elem writing each.
func writeList[T any](bw *bufio.Writer, xs []T, elem func(*bufio.Writer, *T) error) error {
	if xs == nil {
		_, err := bw.WriteString("null")
		return err
	}
	bw.WriteByte('[') //nolint:errcheck // bw keeps the error for Flush
	for i := range xs {
		if i > 0 {
			bw.WriteByte(',') //nolint:errcheck
		}
		if err := elem(bw, &xs[i]); err != nil {
			return err
		}
	}
	return bw.WriteByte(']')
}
