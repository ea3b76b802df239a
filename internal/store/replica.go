package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/corkboard/corkboard/internal/board"
)

// ReplicaOptions tune the read replica's pool (see OpenReplica).
type ReplicaOptions struct {
	MaxConns int32 // 0: pgxpool's default
	// Timeout bounds each read on the replica, connecting included; a read
	// that takes longer goes to the primary and the replica is left alone
	// for a second. 0: 1s.
	Timeout time.Duration
	Logger  *slog.Logger // nil: slog.Default()
}

// ReplicaStats are the counters of the reads routed to the replica since
// OpenReplica (all zero without one).
type ReplicaStats struct {
	Configured bool
	Up         bool   // false while reads skip a replica that failed
	Reads      uint64 // reads the replica answered
	Behind     uint64 // reads the replica had not replayed far enough for, answered by the primary
	Fallbacks  uint64 // reads that went to the primary because the replica failed or was down
}

// replica is the pool of a streaming read replica and its health.
type replica struct {
	pool    db // errors translated as the primary's are
	timeout time.Duration
	log     *slog.Logger

	down    atomic.Bool
	retryAt atomic.Int64 // unix ns: when a read may try a replica that is down

	reads, behind, fallbacks atomic.Uint64
}

// replicaRetry is how long reads skip a replica that failed before one read
// tries it again.
const replicaRetry = time.Second

// OpenReplica gives the store a second pool, for a streaming replica of its
// database at url: from then on Snapshot, Events and LogEvents read there
// (everything else, and every write, stays on the primary). Call it once,
// after Open and before the store is used; Close closes both pools.
//
// Reads stay correct whatever the replica's lag: a read that needs more
// than the replica has replayed (a min_seq it has not reached, events past
// its head, a board it does not have yet) is answered by the primary, and a
// replica that fails or times out is skipped for a second while the primary
// answers, with a log line when it goes down and when it comes back. An
// unreachable replica at start is not an error: reads go to the primary
// until it answers.
func (s *Store) OpenReplica(ctx context.Context, url string, o ReplicaOptions) error {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse replica database url: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > o.Timeout {
		cfg.ConnConfig.ConnectTimeout = o.Timeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open replica database: %w", err)
	}
	r := &replica{pool: db{pool}, timeout: o.Timeout, log: o.Logger}
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		r.fail(err)
	}
	s.replica = r
	return nil
}

// ReplicaStats returns the replica's counters.
func (s *Store) ReplicaStats() ReplicaStats {
	r := s.replica
	if r == nil {
		return ReplicaStats{}
	}
	return ReplicaStats{Configured: true, Up: !r.down.Load(),
		Reads: r.reads.Load(), Behind: r.behind.Load(), Fallbacks: r.fallbacks.Load()}
}

// use reports whether a read should try the replica: it is up, or it is
// down and this read is the one that tries it again after replicaRetry.
func (r *replica) use() bool {
	if !r.down.Load() {
		return true
	}
	at := r.retryAt.Load()
	now := time.Now().UnixNano()
	return now >= at && r.retryAt.CompareAndSwap(at, now+int64(replicaRetry))
}

// fail takes the replica out of use for replicaRetry after err.
func (r *replica) fail(err error) {
	r.retryAt.Store(time.Now().Add(replicaRetry).UnixNano())
	if !r.down.Swap(true) {
		r.log.Warn("read replica failed: reads go to the primary until it answers again", "err", err)
	}
}

// answered notes that the replica answered a read.
func (r *replica) answered() {
	if r.down.Swap(false) {
		r.log.Info("read replica answers again: reads go to it")
	}
}

// replicaRead is one read routed by read: run on q, it reports
// short = true when the answer needs more than q has (only asked of the
// replica; the primary's answer is final).
type replicaRead func(ctx context.Context, q db, onReplica bool) (short bool, err error)

// read runs f on the replica when there is one in use, and again on the
// primary when the replica's answer is short, or is ENotFound or
// ESinceExpired (a board or a seq it has not replayed yet), or fails.
func (s *Store) read(ctx context.Context, f replicaRead) error {
	r := s.replica
	if r != nil && !r.use() {
		r.fallbacks.Add(1) // skipped while down
	} else if r != nil {
		rctx, cancel := context.WithTimeout(ctx, r.timeout)
		short, err := f(rctx, r.pool, true)
		cancel()
		switch code := board.ErrorCode(err); {
		case err == nil && !short:
			r.reads.Add(1)
			r.answered()
			return nil
		case ctx.Err() != nil: // the caller is gone; nothing is wrong with the replica
			if err == nil {
				err = ctx.Err() // a short answer is no answer
			}
			return err
		case err == nil || code == board.ENotFound || code == board.ESinceExpired:
			r.behind.Add(1)
			r.answered()
		default:
			r.fallbacks.Add(1)
			if !isServerError(err) {
				r.fail(err)
			}
		}
	}
	_, err := f(ctx, s.pool, false)
	return err
}

// isServerError reports whether err is an error the server sent about the
// statement (such as a query cancelled by a recovery conflict on a hot
// standby), rather than a failure to reach it or a server going away.
func isServerError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, class := range []string{"08", "53", "57P"} { // connection, resources, shutdown
		if strings.HasPrefix(pgErr.Code, class) {
			return false
		}
	}
	return true
}
