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
// goroutines (about GOMAXPROCS) for all of them instead of one per
// connection: a connection whose queue goes from empty to non-empty is put
// at the back of the pool's run queue (once, however many frames arrive
// meanwhile), and a worker takes it from the front and writes everything
// queued for it as one message, in one write(2). A fan-out of one event to
// 5,000 subscribers then wakes two goroutines, not 5,000, and the request
// path (HTTP handlers, the database client) is never queued behind thousands
// of runnable writers; workers also yield the processor every few
// connections (runtime.Gosched), so that delivery runs behind the request
// path, not ahead of it.
//
// A write that blocks (a client that does not read, its socket buffer
// full) must not hold up the others: a worker whose write has taken longer
// than handOffAfter is counted out of the pool and another worker starts in
// its place; it leaves when its write ends if the pool is full again. A write
// that takes longer than the write timeout closes its connection.
//
// With a coalescing delay, a connection waits that long after its first
// queued frame before it is written, so that the frames of a hot board that
// arrive meanwhile share the message (fewer writes, each delivery later).
//
// Workers exist only while there is work: the last one leaves when the run
// queue is empty, so an idle server has none.
type writerPool struct {
	size         int           // workers writing at once
	delay        time.Duration // coalescing window; 0: none
	writeTimeout time.Duration

	mu      sync.Mutex // last in the lock order: taken under hub.Client's lock (push)
	queue   []*session // run queue, from head
	head    int
	running int // workers not counted out as blocked

	workers sync.Pool // of *worker, between bursts
}

// handOffAfter is how long a write may block before another worker takes
// over the rest of the run queue.
const handOffAfter = 2 * time.Millisecond

// yieldEvery is how many connections a worker serves between two yields of
// its processor to the request path.
const yieldEvery = 8

// A connection's state in the pool (session.wstate, under writerPool.mu).
const (
	wIdle    = iota // nothing queued, or not yet noticed
	wQueued         // in the run queue
	wRunning        // a worker is writing it (s.dirty: queued again meanwhile)
)

func newWriterPool(size int, delay, writeTimeout time.Duration) *writerPool {
	if size <= 0 {
		size = runtime.GOMAXPROCS(0)
	}
	return &writerPool{size: size, delay: delay, writeTimeout: writeTimeout}
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

// next takes the connection at the front of the run queue (p.mu held), or
// nil when the queue is empty.
func (p *writerPool) next() *session {
	if p.head == len(p.queue) {
		clear(p.queue[:p.head])
		p.queue, p.head = p.queue[:0], 0
		if cap(p.queue) > 1024 {
			p.queue = nil // a burst's run queue is not kept
		}
		return nil
	}
	s := p.queue[p.head]
	p.queue[p.head] = nil
	p.head++
	if p.head > 1024 && p.head > len(p.queue)/2 {
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	s.wstate, s.dirty = wRunning, false
	return s
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

// work is one worker: it serves connections from the run queue until it
// is empty.
func (p *writerPool) work() {
	w, _ := p.workers.Get().(*worker)
	if w == nil {
		w = &worker{p: p}
		w.timer = time.AfterFunc(time.Hour, w.fire)
		w.timer.Stop()
	}
	defer p.workers.Put(w) // its timer and buffers, for the next burst
	for n := 1; ; n++ {
		p.mu.Lock()
		s := p.next()
		if s == nil {
			p.running--
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if p.delay > 0 {
			if d := time.Until(s.due); d > 0 {
				time.Sleep(d)
			}
		}
		blocked := w.serve(s)
		p.mu.Lock()
		p.done(s)
		if blocked {
			// Counted out while blocked: come back only if the pool is
			// not full again.
			if p.running >= p.size {
				p.mu.Unlock()
				return
			}
			p.running++
		}
		p.mu.Unlock()
		if n%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
}

// handOff counts a blocked worker out and starts another if there is work.
func (p *writerPool) handOff() {
	p.mu.Lock()
	p.running--
	if p.head < len(p.queue) && p.running < p.size {
		p.running++
		go p.work()
	}
	p.mu.Unlock()
}

// worker is one of the pool's goroutines: its batch buffer and the timer
// that hands its work off when a write blocks, and closes the connection
// when it blocks for longer than the write timeout.
type worker struct {
	p      *writerPool
	timer  *time.Timer
	frames [][]byte
	buf    []byte // a batch of frames, as one message
	out    []byte // the message as written, header included

	mu    sync.Mutex
	state int      // wIdle, writing, blocked
	cur   *session // the connection being written
}

const (
	writing = 1 + iota
	blocked
)

// fire runs on the worker's timer during a write.
func (w *worker) fire() {
	w.mu.Lock()
	switch w.state {
	case writing:
		w.state = blocked
		w.mu.Unlock()
		w.p.handOff()
		w.timer.Reset(max(w.p.writeTimeout-handOffAfter, time.Millisecond))
		return
	case blocked:
		s := w.cur
		w.mu.Unlock()
		s.conn.CloseNow() //nolint:errcheck // unblocks the write, which then fails
		return
	}
	w.mu.Unlock()
}

// serve writes what is queued for s, or ends s if the hub closed its
// client. It reports whether the write blocked long enough to be handed
// off.
func (w *worker) serve(s *session) (wasBlocked bool) {
	if err := s.client.Err(); err != nil {
		if s.closing() {
			return false
		}
		if errors.Is(err, hub.ErrShuttingDown) {
			wasBlocked = w.write(s) // flush what is queued, then go away
		}
		s.end(s.closedBy())
		return wasBlocked
	}
	return w.write(s)
}

// write takes s's queued frames and writes them as one text message
// (frames separated by newlines). The write has no context deadline (one
// costs a timer, an AfterFunc and allocations per frame): the worker's
// timer bounds it.
func (w *worker) write(s *session) (wasBlocked bool) {
	frames := s.client.Take(w.frames[:0])
	w.frames = frames[:0]
	defer clear(frames)
	if len(frames) == 0 {
		return false
	}
	msg := frames[0]
	if len(frames) > 1 {
		w.buf = w.buf[:0]
		for i, f := range frames {
			if i > 0 {
				w.buf = append(w.buf, '\n')
			}
			w.buf = append(w.buf, f...)
		}
		msg = w.buf
	}
	w.mu.Lock()
	w.state, w.cur = writing, s
	w.mu.Unlock()
	w.timer.Reset(handOffAfter)
	var err error
	w.out, err = s.write(msg, w.out)
	w.timer.Stop()
	w.mu.Lock()
	wasBlocked = w.state == blocked
	w.state, w.cur = wIdle, nil
	w.mu.Unlock()
	if cap(w.buf) > 256<<10 || cap(w.out) > 256<<10 {
		w.buf, w.out = nil, nil // a burst's buffers are not kept
	}
	if err != nil {
		s.end(websocket.StatusGoingAway, "write failed")
	}
	return wasBlocked
}
