package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/auth"
	"github.com/corkboard/corkboard/internal/board"
	"github.com/corkboard/corkboard/internal/commit"
	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/hub"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/notify"
	"github.com/corkboard/corkboard/internal/openapi"
	"github.com/corkboard/corkboard/internal/ops"
	"github.com/corkboard/corkboard/internal/pglocal"
	"github.com/corkboard/corkboard/internal/ratelimit"
	"github.com/corkboard/corkboard/internal/store"
	"github.com/corkboard/corkboard/internal/webhook"
	"github.com/corkboard/corkboard/internal/ws"
	"github.com/corkboard/corkboard/web"
)

// App is one running server instance. Start builds it from a Config; Close
// stops it in the reverse order of start.
type App struct {
	cfg    Config
	log    *slog.Logger
	db     *database
	store  *store.Store
	nats   *natsbus.Server // in-process NATS, when no NATS_URL
	bus    *natsbus.Bus
	hub    *hub.Hub
	commit *commit.Committer // publishes what this instance commits; applies revocations
	seq    *store.Sequencer  // numbers the global log
	ws     *ws.Handler
	// accounts, once made (after the bus: revocations arrive from the
	// start), forgets cached credentials the revocations are about.
	accounts atomic.Pointer[auth.Service]
	ln       net.Listener
	http     *http.Server

	metrics     *ops.Metrics
	health      *ops.Health
	adminLn     net.Listener // nil without ADMIN_ADDR
	admin       *http.Server
	adminServed chan error

	stopJanitor context.CancelFunc // stops the janitor and the sequencer
	seqDone     chan struct{}
	files       *attachment.Files // attachment bytes; its sweeper runs with the janitor
	filesDone   chan struct{}
	notify      *notify.Worker // derives notifications and users' live messages
	notifyDone  chan struct{}
	webhooks    *webhook.Worker
	served      chan error
	closeOnce   func() error
}

// Start opens the database (starting a private PostgreSQL if configured),
// migrates it, and serves HTTP on cfg.Addr. ctx bounds the start-up only.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, served: make(chan error, 1), adminServed: make(chan error, 1), metrics: ops.NewMetrics()}
	// What started so far, undone in reverse order if a later step fails.
	var undo cleanups
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	if a.db, err = openDatabase(ctx, cfg, log); err != nil {
		return nil, err
	}
	undo.push(func() { a.db.close() }) //nolint:errcheck // reporting the error that made Start fail
	if cfg.Migrate {
		if err := migrate(ctx, a.db.url); err != nil {
			return nil, err
		}
	}
	maxConns := int32(cfg.DBMaxConns)
	if maxConns == 0 {
		maxConns = int32(max(4, runtime.NumCPU()))
	}
	if a.store, err = store.Open(ctx, a.db.url, cfg.storeOptions(maxConns)); err != nil {
		return nil, err
	}
	undo.push(a.store.Close)
	if a.db.replicaURL != "" {
		err := a.store.OpenReplica(ctx, a.db.replicaURL, store.ReplicaOptions{MaxConns: maxConns, Timeout: cfg.ReplicaTimeout, Logger: log})
		if err != nil {
			return nil, err
		}
		a.metrics.WatchReplica(a.store.ReplicaStats)
	}
	if err := a.startRealtime(ctx); err != nil {
		return nil, err
	}
	undo.push(func() { a.stopRealtime(context.Background()) })
	sink := userSink{hub: a.hub, bus: a.bus, log: log}
	a.notify = notify.New(notify.Options{Store: a.store, Sink: sink, Logger: log})
	a.seq = store.NewSequencer(a.store, store.SequencerOptions{Interval: cfg.LogSequence, Logger: log,
		Numbered: a.notify.Wake})
	a.webhooks = newWebhookWorker(cfg, a.store, log)
	if a.files, err = openFiles(ctx, cfg, a.store, log); err != nil {
		return nil, err
	}
	a.commit.OnCommitted(func(ev board.Event) {
		a.seq.Wake()
		a.webhooks.Notify(ev.BoardID)
		a.files.WakeOn(ev)
	})
	authOpts := auth.Options{Store: a.store, Revoker: a.commit, SessionTTL: cfg.SessionTTL, MaxHashes: cfg.HashConcurrency,
		CredentialTTL: cfg.AuthCacheTTL}
	apiOpts := httpapi.Options{Store: a.store, Budgets: a.store, Committer: a.commit, Logger: log,
		IdempotencyTTL: cfg.IdempotencyTTL, TrustedProxies: cfg.TrustedProxies, Webhooks: a.store, WebhookNotifier: a.webhooks,
		SnapshotCacheBytes: int64(cfg.SnapshotCacheBytes), Files: a.files, UserSink: sink}
	if cfg.SnapshotCacheBytes == 0 {
		apiOpts.SnapshotCacheBytes = -1
	}
	if cfg.hooks.cheapAuth {
		authOpts.Params = auth.TestParams
		authOpts.Limits.Address = ratelimit.Limit{Burst: 1 << 20, Every: time.Millisecond}
		apiOpts.RateBurst, apiOpts.Rate = 1<<20, 1e6
	}
	if cfg.hooks.requestRate > 0 {
		apiOpts.Rate = cfg.hooks.requestRate
	}
	accounts := auth.New(authOpts)
	a.accounts.Store(accounts)
	apiOpts.Accounts = accounts
	api := httpapi.New(apiOpts)
	a.ws = ws.New(ws.Options{Hub: a.hub, Logger: log, OriginPatterns: originHosts(cfg.TrustedOrigins),
		Identify: api.Principal, CoalesceWindow: cfg.WSCoalesceWindow})
	// Revocations sent while this instance was cut off from the bus are
	// lost: every cached credential is dropped and every live connection's
	// credential checked again when it reconnects.
	a.bus.OnReconnect(accounts.ForgetAll)
	a.bus.OnReconnect(a.ws.RecheckAll)
	csrf, err := httpapi.CrossOriginProtection(cfg.TrustedOrigins)
	if err != nil {
		return nil, fmt.Errorf("trusted origins: %w", err)
	}

	a.metrics.Watch(ops.Sources{Hub: a.hub.Stats, Pool: a.store.Pool().Stat, NATS: a.bus, Snapshots: api.SnapshotCacheStats})
	a.health = ops.NewHealth(time.Second,
		ops.Check{Name: "postgres", Func: a.store.Ping},
		ops.Check{Name: "nats", Degrades: true, Func: func(context.Context) error {
			if !a.bus.Connected() {
				return errors.New("not connected")
			}
			return nil
		}})

	r := chi.NewRouter()
	r.Use(ops.NewRequestIDs().Middleware, a.metrics.Middleware, ops.AccessLog(log), httpapi.SecurityHeaders)
	r.With(api.LimitUpgrade).Get("/api/ws", a.ws.ServeHTTP)
	r.Get("/api/openapi.yaml", openapi.ServeHTTP)
	r.With(csrf).Mount("/api", api.Routes())
	r.Get("/healthz", a.health.Live)
	r.Get("/readyz", a.health.Ready)
	r.Handle("/*", web.Handler())

	if cfg.AdminAddr != "" {
		if a.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			return nil, fmt.Errorf("listen on the admin address %s (ADMIN_ADDR; off turns it off): %w", cfg.AdminAddr, err)
		}
		undo.push(func() { a.adminLn.Close() }) //nolint:errcheck // as above
	}
	if a.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	a.http = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { a.served <- a.http.Serve(a.ln) }()
	if a.adminLn != nil {
		a.admin = &http.Server{Handler: ops.AdminHandler(a.metrics, a.health), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { a.adminServed <- a.admin.Serve(a.adminLn) }()
		log.Info("serving admin endpoint", "addr", a.adminLn.Addr().String())
	}

	janitorCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopJanitor = cancel
	go a.janitor(janitorCtx)
	a.seqDone = make(chan struct{})
	go func() { defer close(a.seqDone); a.seq.Run(janitorCtx) }()
	a.filesDone = make(chan struct{})
	go func() { defer close(a.filesDone); a.files.Run(janitorCtx, cfg.AttachmentsSweepInterval) }()
	a.notifyDone = make(chan struct{})
	go func() { defer close(a.notifyDone); a.notify.Run(janitorCtx) }()
	a.webhooks.Start()
	go watchBus(janitorCtx, a.bus, a.hub, a.ws, cfg.HeadIntervalDegraded, a.metrics, log)
	a.closeOnce = sync.OnceValue(a.close)
	log.Info("serving", "addr", a.ln.Addr().String(), "version", a.health.Version().String())
	return a, nil
}

// cleanups is a stack of undo steps: run calls them last pushed first.
type cleanups []func()

func (c *cleanups) push(f func()) { *c = append(*c, f) }

func (c cleanups) run() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// Addr is the address the server listens on (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// AdminAddr is the address of the admin endpoint, or "" without one.
func (a *App) AdminAddr() string {
	if a.adminLn == nil {
		return ""
	}
	return a.adminLn.Addr().String()
}

// Close shuts down in the reverse order of start, within the shutdown
// timeout: /readyz answers 503 for the drain delay (load balancers stop
// sending traffic here), then stop the webhook worker (its requests in
// flight are cancelled, its leases released: another instance sends those
// events), stop accepting, close every WebSocket with
// "going away" (clients reconnect elsewhere and resume from their seq), let
// requests in flight finish, drain NATS, close the pool and the private
// PostgreSQL, and last the admin endpoint. Only the first call does
// anything.
func (a *App) Close() error { return a.closeOnce() }

func (a *App) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.health.Drain()
	if d := a.cfg.DrainDelay; d > 0 {
		a.log.Info("draining: /readyz answers 503 before connections close", "delay", d)
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	a.stopJanitor()
	err := a.webhooks.Stop(ctx) // its requests in flight are sent again later
	shutdown := make(chan error, 1)
	go func() { shutdown <- a.http.Shutdown(ctx) }()
	a.hub.Close()
	err = errors.Join(err, a.ws.Wait(ctx))
	err = errors.Join(err, <-shutdown)
	if serr := <-a.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	err = errors.Join(err, a.stopRealtime(ctx))
	<-a.seqDone
	<-a.filesDone
	<-a.notifyDone
	a.store.Close()
	err = errors.Join(err, a.db.close())
	if a.admin != nil {
		a.admin.Close() //nolint:errcheck // only in-flight scrapes are cut
		<-a.adminServed
	}
	return err
}

// janitor deletes expired idempotency keys, sessions and events past
// retention (keeping what registered log consumers have not read) every few
// minutes.
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.store.DeleteExpiredIdempotencyKeys(ctx); err != nil {
				a.log.Error("delete expired idempotency keys", "err", err)
			} else if n > 0 {
				a.log.Debug("deleted expired idempotency keys", "count", n)
			}
			if n, err := a.store.DeleteExpiredSessions(ctx); err != nil {
				a.log.Error("delete expired sessions", "err", err)
			} else if n > 0 {
				a.log.Debug("deleted expired sessions and tokens", "count", n)
			}
			if _, err := a.store.DeleteIdleBudgets(ctx); err != nil {
				a.log.Error("delete idle attempt budgets", "err", err)
			}
			cutoff := time.Now().Add(-a.cfg.EventRetention)
			if n, err := a.store.DeleteEventsBefore(ctx, cutoff); err != nil {
				a.log.Error("delete events past retention", "err", err)
			} else if n > 0 {
				a.log.Info("deleted events past retention", "count", n)
			}
			a.warnStuckConsumers(ctx, cutoff)
		}
	}
}

// warnStuckConsumers warns about registered log consumers that have events
// to read but whose cursor has not moved since cutoff: they hold back
// retention for every board.
func (a *App) warnStuckConsumers(ctx context.Context, cutoff time.Time) {
	consumers, err := a.store.ListConsumers(ctx)
	if err != nil {
		a.log.Error("list log consumers", "err", err)
		return
	}
	head, _, err := a.store.LogHead(ctx)
	if err != nil {
		a.log.Error("read log head", "err", err)
		return
	}
	for _, c := range consumers {
		if c.Position < head && c.UpdatedAt.Before(cutoff) {
			a.log.Warn("a log consumer has not moved for longer than EVENT_RETENTION and holds back retention; unregister it if it is gone",
				"consumer", c.Name, "position", c.Position, "updated_at", c.UpdatedAt)
		}
	}
}

// database is the PostgreSQL the server uses: the one at DatabaseURL, or a
// private one it started; and the read replica at DatabaseReplicaURL, or a
// private one it started (LocalReplica).
type database struct {
	url          string
	local        *pglocal.Server
	replicaURL   string
	localReplica *pglocal.Server
}

func (d *database) close() error {
	var err error
	if d.localReplica != nil {
		err = d.localReplica.Stop()
	}
	if d.local != nil {
		err = errors.Join(err, d.local.Stop())
	}
	return err
}

const localDatabase = "corkboard"

func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*database, error) {
	if cfg.DatabaseURL != "" {
		return &database{url: cfg.DatabaseURL, replicaURL: cfg.DatabaseReplicaURL}, nil
	}
	dir, err := filepath.Abs(cfg.LocalPostgres)
	if err != nil {
		return nil, fmt.Errorf("local postgres directory: %w", err)
	}
	log.Info("starting private PostgreSQL", "dir", dir, "port", cfg.LocalPostgresPort)
	srv, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Port: cfg.LocalPostgresPort, Log: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("start private PostgreSQL: %w", err)
	}
	if err := srv.CreateDatabase(ctx, localDatabase); err != nil {
		srv.Stop() //nolint:errcheck // reporting the first error
		return nil, err
	}
	db := &database{url: srv.URL(localDatabase), local: srv, replicaURL: cfg.DatabaseReplicaURL}
	if cfg.LocalReplica {
		port := 0
		if cfg.LocalPostgresPort != 0 {
			port = cfg.LocalPostgresPort + 1
		}
		log.Info("starting a streaming replica of the private PostgreSQL", "dir", dir+"-replica", "port", port)
		if db.localReplica, err = srv.StartReplica(ctx, pglocal.Options{Dir: dir + "-replica", Port: port, Log: io.Discard}); err != nil {
			srv.Stop() //nolint:errcheck // reporting the first error
			return nil, fmt.Errorf("start the private PostgreSQL's replica: %w", err)
		}
		db.replicaURL = db.localReplica.URL(localDatabase)
	}
	return db, nil
}

func migrate(ctx context.Context, url string) error {
	if err := store.Migrate(ctx, url); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) //nolint:errcheck // validated in parseConfig
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(ops.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(ops.LogHandler(slog.NewTextHandler(w, opts)))
}

// originHosts turns trusted origins into the patterns the WebSocket upgrade
// checks Origin against: scheme://host[:port], so that trusting
// https://app.example does not trust http://app.example (as for the
// cross-origin protection of the other requests).
func originHosts(origins []string) []string {
	var hosts []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil {
			hosts = append(hosts, u.Scheme+"://"+u.Host)
		}
	}
	return hosts
}
