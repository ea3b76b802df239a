package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/corkboard/corkboard/internal/httpapi"
	"github.com/corkboard/corkboard/internal/pglocal"
	"github.com/corkboard/corkboard/internal/store"
)

// App is one running server instance. Start builds it from a Config; Close
// stops it in the reverse order of start.
type App struct {
	cfg   Config
	log   *slog.Logger
	db    *database
	store *store.Store
	ln    net.Listener
	http  *http.Server

	stopJanitor context.CancelFunc
	served      chan error
}

// Start opens the database (starting a private PostgreSQL if configured),
// migrates it, and serves HTTP on cfg.Addr. ctx bounds the start-up only.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, served: make(chan error, 1)}
	var err error
	if a.db, err = openDatabase(ctx, cfg, log); err != nil {
		return nil, err
	}
	if cfg.Migrate {
		if err := migrate(ctx, a.db.url); err != nil {
			a.db.close()
			return nil, err
		}
	}
	maxConns := int32(cfg.DBMaxConns)
	if maxConns == 0 {
		maxConns = int32(max(4, runtime.NumCPU()))
	}
	if a.store, err = store.Open(ctx, a.db.url, store.Options{MaxConns: maxConns}); err != nil {
		a.db.close()
		return nil, err
	}
	api := httpapi.New(httpapi.Options{Store: a.store, Logger: log, IdempotencyTTL: cfg.IdempotencyTTL})

	r := chi.NewRouter()
	r.Mount("/api", api.Routes())
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }) //nolint:errcheck // the client may be gone

	if a.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		a.store.Close()
		a.db.close()
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

	janitorCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopJanitor = cancel
	go a.janitor(janitorCtx)
	log.Info("serving", "addr", a.ln.Addr().String())
	return a, nil
}

// Addr is the address the server listens on (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// Close stops accepting, lets requests in flight finish (up to the shutdown
// timeout), then closes the pool and the private PostgreSQL.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.stopJanitor()
	err := a.http.Shutdown(ctx)
	if serr := <-a.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	a.store.Close()
	return errors.Join(err, a.db.close())
}

// janitor deletes expired idempotency keys every few minutes.
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
		}
	}
}

// database is the PostgreSQL the server uses: the one at DatabaseURL, or a
// private one it started.
type database struct {
	url   string
	local *pglocal.Server
}

func (d *database) close() error {
	if d.local == nil {
		return nil
	}
	return d.local.Stop()
}

const localDatabase = "corkboard"

func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*database, error) {
	if cfg.DatabaseURL != "" {
		return &database{url: cfg.DatabaseURL}, nil
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
	return &database{url: srv.URL(localDatabase), local: srv}, nil
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
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
