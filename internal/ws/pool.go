package ws

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/corkboard/corkboard/internal/hub"
)

// writerPool writes what the hub queues for the connections, with a few
// goroutines (GOMAXPROCS-1) for all of them instead of one per
// connection: a connection whose queue goes from empty to non-empty is put
// at the back of the pool's run queue (once, however many frames arrive
// meanwhile), and a worker takes it from the front and writes everything
// queued for it as one message, in one write(2). A fan-out of one event to
// 5,000 subscribers then wakes a worker or two, not 5,000 goroutines, and
// the request path (HTTP handlers, the database client) is never queued
// behind thousands of runnable writers.
//
// By default the pool has one worker less than GOMAXPROCS (at least one), so
// that delivery never holds every processor: Go's scheduler looks at the
// network only when a processor runs out of runnable goroutines (or, at the
// latest, every 10 ms from its monitor), so with a worker on every processor
// — always runnable while a fan-out lasts — each database answer and each
// request would wait for that, several times per request. The processor left
// is where they run at once. (With GOMAXPROCS 1 the one worker shares the
// only processor, and that wait comes back during a fan-out.) Workers also
// yield their processor every few connections (runtime.Gosched), so that
// other goroutines queued on it are not held up by a long fan-out.
//
// A worker never blocks on a socket: its write is non-blocking, and what a
// socket does not take at once (a client that does not read fast enough) is
// written by a goroutine of that connection's own (socketWriter.drain),
// bounded by the write timeout, which hands the connection back to the
// pool when it is done. A slow client holds up nobody else.
//
// With a coalescing delay, a connection waits that long after its first
// queued frame before it is written, so that the frames of a hot board that
// arrive meanwhile share the message (fewer writes, each delivery later).
//
// Workers exist only while there is work: the last one leaves when the run
// queue is empty, so an idle server has none.
type writerPool struct {
	size  int           // workers writing at once
	delay time.Duration // coalescing window; 0: none

	mu      sync.Mutex // last in the lock order: taken under hub.Client's lock (push)
	queue   []*session // run queue, from head
	head    int
	running int // workers

	workers sync.Pool // of *worker (buffers), between bursts
}

// yieldEvery is how many connections a worker serves between two yields of
// its processor to the request path.
const yieldEvery = 8

// batchSize is the most connections a worker takes from the run queue at
// once.
const batchSize = 32

// A connection's state in the pool (session.wstate, under writerPool.mu).
const (
	wIdle    = iota // nothing queued, or not yet noticed
	wQueued         // in the run queue
	wRunning        // a worker, or its socket's drainer, is writing it (s.dirty: queued again meanwhile)
)

func newWriterPool(size int, delay time.Duration) *writerPool {
	if size <= 0 {
		size = max(1, runtime.GOMAXPROCS(0)-1)
	}
	return &writerPool{size: size, delay: delay}
}

// push puts s in the run queue, unless it is there or being written (then
// it is written again after). It is called by the hub with the client's
// lock held: it never blocks.
func (p *writerPool) push(s *session) {
	p.mu.Lock()
	switch s.wstate {
	case wIdle:
		s.wstate = wQueued
		if p.delay > 0 {
			s.due = time.Now().Add(p.delay)
		}
		p.queue = append(p.queue, s)
		if p.running < p.size {
			p.running++
			go p.work()
		}
	case wRunning:
		s.dirty = true
	}
	p.mu.Unlock()
}

// take moves up to max connections from the front of the run queue to dst
// (p.mu held) and returns it; fewer when the queue is short, so that the
// other workers get their share.
func (p *writerPool) take(dst []*session, max int) []*session {
	queued := len(p.queue) - p.head
	n := min(max, queued/p.size)
	if n == 0 && queued > 0 {
		n = 1
	}
	for _, s := range p.queue[p.head : p.head+n] {
		s.wstate, s.dirty = wRunning, false
		dst = append(dst, s)
	}
	clear(p.queue[p.head : p.head+n])
	p.head += n
	switch {
	case p.head == len(p.queue):
		p.queue, p.head = p.queue[:0], 0
		if cap(p.queue) > 1024 {
			p.queue = nil // a burst's run queue is not kept
		}
	case p.head > 1024 && p.head > len(p.queue)/2:
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	return dst
}

// done ends a worker's turn on s (p.mu held): back in the queue if frames
// came meanwhile.
func (p *writerPool) done(s *session) {
	if s.dirty {
		s.wstate, s.dirty = wQueued, false
		if p.delay > 0 {
			s.due = time.Now().Add(p.delay)
		}
		p.queue = append(p.queue, s)
		return
	}
	s.wstate = wIdle
}

// work is one worker: it serves connections from the run queue, a few at
// a time (one lock of the pool per batch, not two per connection), until
// it is empty.
func (p *writerPool) work() {
	w, _ := p.workers.Get().(*worker)
	if w == nil {
		w = &worker{}
	}
	defer p.workers.Put(w) // its buffers, for the next burst
	n := 0
	for {
		p.mu.Lock()
		for _, s := range w.served {
			p.done(s)
		}
		clear(w.served)
		w.served = w.served[:0]
		w.batch = p.take(w.batch[:0], batchSize)
		if len(w.batch) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		for _, s := range w.batch {
			if p.delay > 0 {
				if d := time.Until(s.due); d > 0 {
					time.Sleep(d)
				}
			}
			if !w.serve(s) {
				w.served = append(w.served, s)
			}
			if n++; n%yieldEvery == 0 {
				runtime.Gosched()
			}
		}
		clear(w.batch)
	}
}

// handBack takes back a connection whose drainer has written what its
// socket did not take at once.
func (p *writerPool) handBack(s *session) {
	p.mu.Lock()
	p.done(s)
	if s.wstate == wQueued && p.running < p.size {
		p.running++
		go p.work()
	}
	p.mu.Unlock()
}

// worker is one of the pool's goroutines' buffers.
type worker struct {
	batch  []*session // taken from the run queue
	served []*session // of the batch, whose turn ends at the next lock
	frames [][]byte
	out    []byte // the message as written, header included
}

// serve writes what is queued for s, or ends s if the hub closed its
// client. It reports whether s was handed to its socket's drainer (which
// hands it back to the pool).
func (w *worker) serve(s *session) (handedOver bool) {
	frames, err := s.client.TakeErr(w.frames[:0])
	w.frames = frames[:0]
	defer clear(frames)
	if err != nil {
		if s.closing() {
			return false
		}
		if errors.Is(err, hub.ErrShuttingDown) {
			handedOver = w.write(s, frames) // flush what is queued, then go away
		}
		s.end(s.closedBy())
		return handedOver
	}
	return w.write(s, frames)
}

// write writes frames to s as one text message (frames separated by
// newlines), without blocking: the WebSocket frame is built here, header
// and payload in one buffer, and sent with one write(2).
func (w *worker) write(s *session, frames [][]byte) (handedOver bool) {
	if len(frames) == 0 {
		return false
	}
	n := len(frames) - 1 // the newlines
	for _, f := range frames {
		n += len(f)
	}
	w.out = appendTextHeader(w.out[:0], n)
	for i, f := range frames {
		if i > 0 {
			w.out = append(w.out, '\n')
		}
		w.out = append(w.out, f...)
	}
	handedOver, err := s.write(w.out)
	if cap(w.out) > 256<<10 {
		w.out = nil // a burst's buffer is not kept
	}
	if err != nil {
		s.end(websocket.StatusGoingAway, "write failed")
	}
	return handedOver
}
