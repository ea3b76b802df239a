package hub

import (
	"cmp"
	"slices"
	"time"
)

type remoteViewers struct {
	users   []string
	expires time.Time
}

// presenceLoop announces this instance's viewers of every board on the bus
// every PresenceInterval, and forgets other instances' viewers that have not
// been announced for three intervals (an instance that died).
func (h *Hub) presenceLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.o.PresenceInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		states := make([]*boardState, 0, len(h.boards))
		for _, bs := range h.boards {
			states = append(states, bs)
		}
		h.mu.Unlock()
		now := time.Now()
		for _, bs := range states {
			bs.mu.Lock()
			local := localUsers(bs)
			expired := false
			for inst, rv := range bs.remote {
				if now.After(rv.expires) {
					delete(bs.remote, inst)
					expired = true
				}
			}
			bs.mu.Unlock()
			if h.o.Bus != nil {
				h.o.Bus.PublishPresence(bs.id, h.instance, local)
			}
			if expired {
				h.presenceChanged(bs)
			}
		}
	}
}

// RemotePresence records the viewers of a board on another instance.
func (h *Hub) RemotePresence(boardID, instance string, users []string) {
	if instance == h.instance {
		return
	}
	h.mu.Lock()
	bs := h.boards[boardID]
	h.mu.Unlock()
	if bs == nil {
		return
	}
	bs.mu.Lock()
	if len(users) == 0 {
		delete(bs.remote, instance)
	} else {
		bs.remote[instance] = remoteViewers{users: users, expires: time.Now().Add(3 * h.o.PresenceInterval)}
	}
	bs.mu.Unlock()
	h.presenceChanged(bs)
}

// presenceChanged schedules a presence flush for the board within
// PresenceDelay. A burst of joins and leaves (a meeting starting) thus costs
// one frame per subscriber, not one per change. On a board whose last flush
// was large (many subscribers, many viewers) the flush waits longer, until
// that flush's bytes are paid for at PresenceBytes per second: 5,000
// subscribers of a board whose frame lists 100 viewers get about 4 KB each,
// 20 MB a flush, which at 100 ms intervals would be most of what the
// server can write.
func (h *Hub) presenceChanged(bs *boardState) {
	bs.mu.Lock()
	if bs.presenceTimer == nil && !bs.dead {
		delay := max(h.o.PresenceDelay, time.Until(bs.presenceNext))
		bs.presenceTimer = time.AfterFunc(delay, func() { h.flushPresence(bs) })
	}
	bs.mu.Unlock()
}

// flushPresence sends a presence frame to the board's live subscribers if
// the set of viewers changed (and to those that have not had one yet), and
// announces a change of local viewers on the bus.
func (h *Hub) flushPresence(bs *boardState) {
	bs.mu.Lock()
	bs.presenceTimer = nil
	local := localUsers(bs)
	localChanged := !slices.Equal(local, bs.lastLocal)
	bs.lastLocal = local
	all := slices.Clone(local)
	for _, rv := range bs.remote {
		all = append(all, rv.users...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	changed := bs.lastSeen == nil || !slices.Equal(all, bs.lastSeen)
	bs.lastSeen = all
	// Queued under bs.mu, so that frames reach every client in the order
	// of the changes: a stale set never arrives after a newer one.
	var frame []byte
	var slow []*Client
	sent := 0
	for c, sub := range bs.subs {
		if sub.live && (changed || !sub.sawPresence) {
			sub.sawPresence = true
			if frame == nil {
				frame = encodePresence(bs.id, all)
			}
			c.mu.Lock()
			ok := c.enqueueLocked(frame)
			c.mu.Unlock()
			if !ok {
				slow = append(slow, c)
			}
			sent += len(frame)
		}
	}
	if sent > 0 {
		bs.presenceNext = time.Now().Add(time.Duration(float64(sent) / float64(h.o.PresenceBytes) * float64(time.Second)))
	}
	dead := bs.dead
	bs.mu.Unlock()
	h.closeSlow(slow)
	if localChanged && !dead && h.o.Bus != nil {
		h.o.Bus.PublishPresence(bs.id, h.instance, local)
	}
}

func localUsers(bs *boardState) []string {
	users := make([]string, 0, len(bs.local))
	for u := range bs.local {
		users = append(users, u)
	}
	slices.SortFunc(users, cmp.Compare[string])
	return users
}
