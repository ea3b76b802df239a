package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
)

// TestTextHeader: the header the workers build says the payload's length
// in the shortest form RFC 6455 allows, and frameSize reads every form
// back, whole or not at all.
func TestTextHeader(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		frame := appendTextHeader(nil, n)
		wantHeader := 2
		switch {
		case n > 65535:
			wantHeader = 10
		case n > 125:
			wantHeader = 4
		}
		if len(frame) != wantHeader {
			t.Errorf("%d bytes: header of %d bytes, want %d", n, len(frame), wantHeader)
		}
		if frame[0] != 0x81 || frame[1]&0x80 != 0 {
			t.Errorf("%d bytes: first bytes %#x %#x, want a final unmasked text frame", n, frame[0], frame[1])
		}
		frame = append(frame, bytes.Repeat([]byte{'x'}, n)...)
		if got := frameSize(frame); got != len(frame) {
			t.Errorf("%d bytes: frameSize = %d, want %d", n, got, len(frame))
		}
		if got := frameSize(append(frame, 0x89, 0)); got != len(frame) {
			t.Errorf("%d bytes and the next frame's start: frameSize = %d, want %d", n, got, len(frame))
		}
		for _, cut := range []int{0, 1, wantHeader - 1, wantHeader, len(frame) - 1} {
			if cut < 0 || cut >= len(frame) {
				continue
			}
			if got := frameSize(frame[:cut]); got != 0 {
				t.Errorf("%d bytes cut at %d: frameSize = %d, want 0", n, cut, got)
			}
		}
	}
	// A masked frame (a client's) counts its key.
	if got := frameSize([]byte{0x89, 0x82, 1, 2, 3, 4, 'h', 'i'}); got != 8 {
		t.Errorf("masked ping: frameSize = %d, want 8", got)
	}
	// A length no buffer can hold is never whole.
	if got := frameSize([]byte{0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); got != 0 {
		t.Errorf("huge length: frameSize = %d, want 0", got)
	}
}

// TestSocketWriterKeepsFramesWhole: the pool's frames and coder/websocket's
// (written through a 16-byte bufio.Writer, in pieces) go out on one real
// socket at the same time, and the peer reads every frame whole and in
// each writer's order; after the close frame the pool's frames are refused.
func TestSocketWriterKeepsFramesWhole(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	handedBack := make(chan error, 100)
	sw := &socketWriter{conn: server, raw: raw, handBack: func(err error) { handedBack <- err }}

	const n = 2000
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the pool: text frames of growing size, some larger than the socket buffer takes at once
		defer wg.Done()
		var buf []byte
		for i := range n {
			payload := fmt.Appendf(nil, "event %d %s", i, bytes.Repeat([]byte{'e'}, i*37%70000))
			buf = append(appendTextHeader(buf[:0], len(payload)), payload...)
			blocked, err := sw.sendFrame(buf)
			if err != nil {
				t.Errorf("sendFrame %d: %v", i, err)
				return
			}
			if blocked {
				if err := <-handedBack; err != nil {
					t.Errorf("drain after frame %d: %v", i, err)
					return
				}
			}
		}
	}()
	go func() { // coder/websocket: pings through a 16-byte bufio.Writer
		defer wg.Done()
		bw := bufio.NewWriterSize(sw, 16)
		for i := range n {
			payload := fmt.Appendf(nil, "ping %d", i)
			bw.Write([]byte{0x89, byte(len(payload))}) //nolint:errcheck // checked at Flush
			bw.Write(payload)                          //nolint:errcheck // checked at Flush
			if err := bw.Flush(); err != nil {
				t.Errorf("ping %d: %v", i, err)
				return
			}
		}
	}()

	read := make(chan error, 1)
	go func() {
		br := bufio.NewReader(client)
		nextEvent, nextPing := 0, 0
		for nextEvent < n || nextPing < n {
			var h [10]byte
			if _, err := io.ReadFull(br, h[:2]); err != nil {
				read <- fmt.Errorf("after %d events and %d pings: %w", nextEvent, nextPing, err)
				return
			}
			size, hl := int(h[1]&0x7f), 2
			switch size {
			case 126:
				hl = 4
			case 127:
				hl = 10
			}
			if _, err := io.ReadFull(br, h[2:hl]); err != nil {
				read <- err
				return
			}
			payloadLen := size
			switch hl {
			case 4:
				payloadLen = int(binary.BigEndian.Uint16(h[2:4]))
			case 10:
				payloadLen = int(binary.BigEndian.Uint64(h[2:10]))
			}
			payload := make([]byte, payloadLen)
			if _, err := io.ReadFull(br, payload); err != nil {
				read <- err
				return
			}
			switch h[0] {
			case 0x81:
				want := fmt.Appendf(nil, "event %d %s", nextEvent, bytes.Repeat([]byte{'e'}, nextEvent*37%70000))
				if !bytes.Equal(payload, want) {
					read <- fmt.Errorf("text frame %d: got %.40q…, want %.40q…", nextEvent, payload, want)
					return
				}
				nextEvent++
			case 0x89:
				if want := fmt.Sprintf("ping %d", nextPing); string(payload) != want {
					read <- fmt.Errorf("ping frame: got %q, want %q", payload, want)
					return
				}
				nextPing++
			default:
				read <- fmt.Errorf("a frame starting %#x: the writers' bytes interleaved", h[0])
				return
			}
		}
		read <- nil
	}()
	wg.Wait()
	if err := <-read; err != nil {
		t.Fatal(err)
	}

	// The close frame, in pieces as coder/websocket writes it; then nothing
	// more from the pool.
	bw := bufio.NewWriterSize(sw, 16)
	bw.Write([]byte{0x88, 2, 0x03}) //nolint:errcheck // checked at Flush
	if _, err := sw.sendFrame(appendTextHeader(nil, 0)); err != nil {
		t.Fatalf("a frame while the close frame is half written: %v", err)
	}
	bw.Write([]byte{0xe8}) //nolint:errcheck // checked at Flush
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.sendFrame(appendTextHeader(nil, 0)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a frame after the close frame: %v, want net.ErrClosed", err)
	}
	var tail [6]byte
	if _, err := io.ReadFull(client, tail[:]); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x81, 0, 0x88, 2, 0x03, 0xe8}; !bytes.Equal(tail[:], want) {
		t.Fatalf("the last bytes: %#x, want %#x (the empty text frame before the whole close frame)", tail, want)
	}
}
