//go:build linux

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// commitLog reads when each operation committed, from the PostgreSQL that
// loadgen started (wal_level = logical): a logical decoding slot
// (test_decoding, temporary, on a connection of its own) opened before the
// writers start gives, once they stopped, every transaction that appended a
// loadgen event with its commit time. That time is the commit record's,
// taken as COMMIT begins, before the WAL is flushed: commit -> delivered
// measured from it includes the flush, so it bounds the true figure from
// above (as response -> delivered bounds it from below), far closer than
// the transaction's start does. Decoding adds nothing to the transactions
// measured; it runs after them.
type commitLog struct {
	conn *pgx.Conn
	slot string
}

// openCommitLog creates the slot. Close the log when done.
func openCommitLog(ctx context.Context, dbURL, opPrefix string) (*commitLog, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("commit log: connect: %w", err)
	}
	l := &commitLog{conn: conn, slot: "loadgen_" + strings.Trim(opPrefix, "-")}
	if _, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'test_decoding', true)`, l.slot); err != nil {
		conn.Close(ctx) //nolint:errcheck // reporting the first error
		return nil, fmt.Errorf("commit log: create the decoding slot (wal_level = logical?): %w", err)
	}
	return l, nil
}

// read sets opRecord.commit of every operation whose event was committed
// since the slot was made, and returns how many it set.
func (l *commitLog) read(ctx context.Context, opPrefix string, w *writers, ck *clock) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rows, err := l.conn.Query(ctx, `
		SELECT xid::text, data FROM pg_logical_slot_get_changes($1, NULL, NULL, 'include-timestamp', 'on', 'include-xids', 'off')
		WHERE data LIKE 'COMMIT%' OR data LIKE 'table public.events: INSERT: %'`, l.slot)
	if err != nil {
		return 0, fmt.Errorf("commit log: decode: %w", err)
	}
	ops := map[string][]int{} // by xid, the operations whose event the transaction appended
	n := 0
	var xid, data string
	_, err = pgx.ForEachRow(rows, []any{&xid, &data}, func() error {
		if rest, ok := strings.CutPrefix(data, "COMMIT"); ok {
			ks := ops[xid]
			delete(ops, xid)
			if len(ks) == 0 {
				return nil
			}
			at, err := commitTime(rest)
			if err != nil {
				return err
			}
			for _, k := range ks {
				w.ops[k].commit = ck.wall(at)
				n++
			}
			return nil
		}
		if k, ok := opOfInsert(data, opPrefix); ok && k < len(w.ops) {
			ops[xid] = append(ops[xid], k)
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("commit log: %w", err)
	}
	return n, nil
}

// Close drops the slot with its connection.
func (l *commitLog) Close() error { return l.conn.Close(context.Background()) }

// opOfInsert returns the loadgen operation of a decoded INSERT into events
// (its op_id column: "op_id[text]:'<prefix><k>'").
func opOfInsert(data, opPrefix string) (int, bool) {
	_, rest, ok := strings.Cut(data, " op_id[text]:'"+opPrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "'")
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(digits)
	return k, err == nil && k >= 0
}

// commitTime parses the end of a decoded COMMIT: " (at 2026-12-03
// 15:04:15.123456+00)".
func commitTime(s string) (time.Time, error) {
	_, ts, ok := strings.Cut(s, "(at ")
	ts, _, ok2 := strings.Cut(ts, ")")
	if !ok || !ok2 {
		return time.Time{}, fmt.Errorf("no commit time in %q", s)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07:00:00"} {
		if t, err := time.Parse(layout, ts); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("commit time %q: not a timestamp", ts)
}
