package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/store"
)

// Config is every setting of the server, built once from the environment and
// the command line (a flag wins over its variable) and passed down.
type Config struct {
	Addr                 string
	DatabaseURL          string
	LocalPostgres        string // data directory of a private PostgreSQL to start when DatabaseURL is empty
	LocalPostgresPort    int
	DBMaxConns           int
	DBConnectTimeout     time.Duration
	DBStatementTimeout   time.Duration
	DBLockTimeout        time.Duration
	DBIdleInTxTimeout    time.Duration
	DBKeepAlive          time.Duration
	Migrate              bool
	IdempotencyTTL       time.Duration
	NATSURL              string
	NATSUser             string // with NATSPassword, authenticates to NATS
	NATSPassword         string
	NATSTLSCA            string // PEM file of the CAs that sign the NATS servers' certificates
	NATSTLSCert          string // PEM files of a client certificate for NATS
	NATSTLSKey           string
	NATSTLSOn            bool
	HeadInterval         time.Duration
	HeadIntervalDegraded time.Duration // HeadInterval while the NATS connection is down
	EventRetention       time.Duration
	LogSequence          time.Duration // how often the global log is checked for events other instances committed
	TrustedOrigins       []string
	TrustedProxies       []netip.Prefix
	SessionTTL           time.Duration
	HashConcurrency      int // password hashes at once; 0: the number of CPUs
	WSQueueBytes         int
	SnapshotCacheBytes   int // 0: no snapshot cache
	AuthCacheTTL         time.Duration
	WSCoalesceWindow     time.Duration
	LogFormat            string
	LogLevel             string
	ShutdownTimeout      time.Duration
	DrainDelay           time.Duration // how long /readyz fails before a shutdown closes connections
	AdminAddr            string        // /metrics, pprof, /healthz, /readyz; empty: none

	WebhookAllowPrivateNetworks bool
	WebhookPollInterval         time.Duration
	WebhookTimeout              time.Duration
	WebhookRetryFor             time.Duration
	WebhookLogRetention         time.Duration
	WebhookConcurrency          int

	// Attachments: their bytes in PostgreSQL, or in an S3 bucket when
	// AttachmentsS3.Endpoint is set.
	AttachmentsMaxBytes      int64
	AttachmentsS3            attachment.S3Config
	AttachmentsSweepInterval time.Duration

	// A streaming replica of DatabaseURL for snapshots and catch-up reads.
	DatabaseReplicaURL string
	LocalReplica       bool // with LocalPostgres: also start a replica of it, in LocalPostgres + "-replica"
	ReplicaTimeout     time.Duration

	hooks hooks // test hooks; never set from the environment
}

// setting is one configuration entry: its flag, its environment variable,
// its default and what it means. The table is the single list that -h and
// docs/configuration.md show.
type setting struct {
	flag, env, def, usage string
	set                   func(c *Config, v string) error
}

var settings = []setting{
	{"addr", "ADDR", ":8080", "address to serve HTTP on",
		func(c *Config, v string) error { c.Addr = v; return checkAddr(v) }},
	{"database-url", "DATABASE_URL", "", "PostgreSQL URL (postgres://user:pass@host:port/db); empty: start a private server in -local-postgres",
		func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{"local-postgres", "LOCAL_POSTGRES", "", "data directory of a private PostgreSQL to start (and create) when DATABASE_URL is empty",
		func(c *Config, v string) error { c.LocalPostgres = v; return nil }},
	{"local-postgres-port", "LOCAL_POSTGRES_PORT", "54329", "port of the private PostgreSQL on 127.0.0.1 (0: any free port)",
		func(c *Config, v string) (err error) { c.LocalPostgresPort, err = intIn(v, 0, 65535); return }},
	{"database-replica-url", "DATABASE_REPLICA_URL", "", "PostgreSQL URL of a streaming replica of the database: snapshots and catch-up reads go there (a read it has not replayed far enough for, or made while it is down, goes to the primary); empty: every read goes to the primary",
		func(c *Config, v string) error { c.DatabaseReplicaURL = v; return nil }},
	{"local-replica", "LOCAL_REPLICA", "false", "with -local-postgres: also start a streaming replica of the private PostgreSQL (made with pg_basebackup, in the data directory's name + \"-replica\", on the next port) and read from it",
		func(c *Config, v string) (err error) { c.LocalReplica, err = strconv.ParseBool(v); return }},
	{"replica-timeout", "REPLICA_TIMEOUT", "1s", "longest a read waits for the replica (connecting included) before the primary answers it; a replica that fails or times out is skipped for a second",
		func(c *Config, v string) (err error) { c.ReplicaTimeout, err = positiveDuration(v); return }},
	{"db-max-conns", "DB_MAX_CONNS", "0", "most PostgreSQL connections in the pool (0: max(4, number of CPUs))",
		func(c *Config, v string) (err error) { c.DBMaxConns, err = intIn(v, 0, 10000); return }},
	{"db-connect-timeout", "DB_CONNECT_TIMEOUT", "2s", "how long opening a PostgreSQL connection may take; while the database is unreachable, requests answer 503 after at most this",
		func(c *Config, v string) (err error) { c.DBConnectTimeout, err = positiveDuration(v); return }},
	{"db-statement-timeout", "DB_STATEMENT_TIMEOUT", "30s", "PostgreSQL statement_timeout of the pool's connections: a statement running longer is cancelled (0: none)",
		func(c *Config, v string) (err error) { c.DBStatementTimeout, err = nonNegativeDuration(v); return }},
	{"db-lock-timeout", "DB_LOCK_TIMEOUT", "3s", "PostgreSQL lock_timeout: a write waiting longer for a board's lock answers 503 with Retry-After (0: none)",
		func(c *Config, v string) (err error) { c.DBLockTimeout, err = nonNegativeDuration(v); return }},
	{"db-idle-in-transaction-timeout", "DB_IDLE_IN_TRANSACTION_TIMEOUT", "5s", "PostgreSQL idle_in_transaction_session_timeout: the session of an instance frozen or cut off inside a transaction is ended and its locks released after this (0: none)",
		func(c *Config, v string) (err error) { c.DBIdleInTxTimeout, err = nonNegativeDuration(v); return }},
	{"db-keepalive", "DB_KEEPALIVE", "10s", "TCP keepalive of PostgreSQL connections, on both ends: first probe after this much silence, then every half of it; dead after 3 unanswered (0: the system's)",
		func(c *Config, v string) (err error) { c.DBKeepAlive, err = nonNegativeDuration(v); return }},
	{"migrate", "MIGRATE", "true", "apply database migrations at start-up",
		func(c *Config, v string) (err error) { c.Migrate, err = strconv.ParseBool(v); return }},
	{"idempotency-ttl", "IDEMPOTENCY_TTL", "24h", "how long an Idempotency-Key is remembered",
		func(c *Config, v string) (err error) { c.IdempotencyTTL, err = positiveDuration(v); return }},
	{"nats-url", "NATS_URL", "", "NATS server URL, or a comma-separated list for a cluster; empty: run an in-process NATS server",
		func(c *Config, v string) error { c.NATSURL = v; return nil }},
	{"nats-user", "NATS_USER", "", "user name for NATS (with NATS_PASSWORD); the in-process server (no NATS_URL) always requires one, random unless set",
		func(c *Config, v string) error { c.NATSUser = v; return nil }},
	{"nats-password", "NATS_PASSWORD", "", "password for NATS (with NATS_USER)",
		func(c *Config, v string) error { c.NATSPassword = v; return nil }},
	{"nats-tls", "NATS_TLS", "false", "connect to NATS over TLS, checking the server's certificate (also on when NATS_TLS_CA or NATS_TLS_CERT is set)",
		func(c *Config, v string) (err error) { c.NATSTLSOn, err = strconv.ParseBool(v); return }},
	{"nats-tls-ca", "NATS_TLS_CA", "", "PEM file of the CA certificates that sign the NATS servers' certificates; empty: the system's",
		func(c *Config, v string) error { c.NATSTLSCA = v; return nil }},
	{"nats-tls-cert", "NATS_TLS_CERT", "", "PEM file of a client certificate for NATS servers that verify clients (with NATS_TLS_KEY)",
		func(c *Config, v string) error { c.NATSTLSCert = v; return nil }},
	{"nats-tls-key", "NATS_TLS_KEY", "", "PEM file of the client certificate's private key",
		func(c *Config, v string) error { c.NATSTLSKey = v; return nil }},
	{"head-check-interval", "HEAD_CHECK_INTERVAL", "2s", "how often each board's latest seq is checked, bounding how late a lost event arrives",
		func(c *Config, v string) (err error) { c.HeadInterval, err = positiveDuration(v); return }},
	{"head-check-interval-degraded", "HEAD_CHECK_INTERVAL_DEGRADED", "250ms", "how often heads are checked while the NATS connection is down, when head checks carry every other instance's events",
		func(c *Config, v string) (err error) { c.HeadIntervalDegraded, err = positiveDuration(v); return }},
	{"event-retention", "EVENT_RETENTION", "720h", "how long events are kept for catch-up; older ones are deleted (each board keeps its last, and registered log consumers keep what they have not read)",
		func(c *Config, v string) (err error) { c.EventRetention, err = positiveDuration(v); return }},
	{"log-sequence-interval", "LOG_SEQUENCE_INTERVAL", "250ms", "how often events committed by other instances are given their place in the global log (this instance's own get theirs within about 50 ms)",
		func(c *Config, v string) (err error) { c.LogSequence, err = positiveDuration(v); return }},
	{"trusted-origins", "TRUSTED_ORIGINS", "", "comma-separated origins (https://app.example.com) allowed to make cross-origin requests and open WebSockets besides the server's own",
		func(c *Config, v string) (err error) { c.TrustedOrigins, err = origins(v); return }},
	{"trusted-proxies", "TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For and X-Forwarded-Proto are believed",
		func(c *Config, v string) (err error) { c.TrustedProxies, err = prefixes(v); return }},
	{"session-ttl", "SESSION_TTL", "720h", "how long a login session lasts",
		func(c *Config, v string) (err error) { c.SessionTTL, err = positiveDuration(v); return }},
	{"hash-concurrency", "HASH_CONCURRENCY", "0", "password hashes (argon2id, 19 MiB each) at once in this instance; more wait up to 2s, then get 503 (0: the number of CPUs)",
		func(c *Config, v string) (err error) { c.HashConcurrency, err = intIn(v, 0, 1024); return }},
	{"ws-queue-bytes", "WS_QUEUE_BYTES", "1048576", "per-connection send queue; a connection that falls this far behind is closed as too slow",
		func(c *Config, v string) (err error) { c.WSQueueBytes, err = intIn(v, 4096, 1<<30); return }},
	{"auth-cache-ttl", "AUTH_CACHE_TTL", "5s", "how long a session or API token, once found valid, is taken without reading the database again; revocations end it at once on every instance; 0: read it on every request",
		func(c *Config, v string) (err error) { c.AuthCacheTTL, err = nonNegativeDuration(v); return }},
	{"snapshot-cache-bytes", "SNAPSHOT_CACHE_BYTES", "67108864", "encoded board snapshots kept to answer repeated reads of an unchanged board, in bytes; 0: none",
		func(c *Config, v string) (err error) { c.SnapshotCacheBytes, err = intIn(v, 0, 1<<40); return }},
	{"ws-coalesce-window", "WS_COALESCE_WINDOW", "0s", "how long a connection's first queued frame waits for more before they are written together: fewer writes on very hot boards, each delivery up to this much later (0: none; at most 1s)",
		func(c *Config, v string) (err error) {
			if c.WSCoalesceWindow, err = nonNegativeDuration(v); err == nil && c.WSCoalesceWindow > time.Second {
				err = errors.New("must be at most 1s")
			}
			return
		}},
	{"log-format", "LOG_FORMAT", "text", "log format: text or json",
		func(c *Config, v string) error { c.LogFormat = v; return oneOf(v, "text", "json") }},
	{"log-level", "LOG_LEVEL", "info", "least level logged: debug, info, warn or error",
		func(c *Config, v string) error { c.LogLevel = v; return oneOf(v, "debug", "info", "warn", "error") }},
	{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "15s", "how long a graceful shutdown may take",
		func(c *Config, v string) (err error) { c.ShutdownTimeout, err = positiveDuration(v); return }},
	{"drain-delay", "DRAIN_DELAY", "2s", "on shutdown, how long /readyz answers 503 before connections close, so load balancers stop sending traffic (0: none)",
		func(c *Config, v string) (err error) { c.DrainDelay, err = nonNegativeDuration(v); return }},
	{"admin-addr", "ADMIN_ADDR", "127.0.0.1:9090", "address of the admin endpoint: /metrics (Prometheus), /debug/pprof/, /healthz, /readyz; off: none. Keep it private",
		func(c *Config, v string) error {
			if v == "off" || v == "" {
				c.AdminAddr = ""
				return nil
			}
			c.AdminAddr = v
			return checkAddr(v)
		}},
	{"webhook-allow-private-networks", "WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false", "let webhooks reach loopback, private, link-local, CGNAT and other non-public addresses (a self-hosted server delivering to its own network)",
		func(c *Config, v string) (err error) {
			c.WebhookAllowPrivateNetworks, err = strconv.ParseBool(v)
			return
		}},
	{"webhook-poll-interval", "WEBHOOK_POLL_INTERVAL", "1s", "how often each instance looks for webhook deliveries due (events committed on other instances, retries)",
		func(c *Config, v string) (err error) { c.WebhookPollInterval, err = positiveDuration(v); return }},
	{"webhook-timeout", "WEBHOOK_TIMEOUT", "10s", "the longest one webhook delivery request may take, redirects included (connecting: at most 5s)",
		func(c *Config, v string) (err error) { c.WebhookTimeout, err = positiveDuration(v); return }},
	{"webhook-retry-for", "WEBHOOK_RETRY_FOR", "24h", "how long a failing webhook delivery is retried (exponential backoff, jitter) before the webhook is disabled",
		func(c *Config, v string) (err error) { c.WebhookRetryFor, err = positiveDuration(v); return }},
	{"webhook-log-retention", "WEBHOOK_LOG_RETENTION", "168h", "how long webhook delivery log entries are kept",
		func(c *Config, v string) (err error) { c.WebhookLogRetention, err = positiveDuration(v); return }},
	{"webhook-concurrency", "WEBHOOK_CONCURRENCY", "16", "how many webhooks each instance delivers to at once",
		func(c *Config, v string) (err error) { c.WebhookConcurrency, err = intIn(v, 1, 1000); return }},
	{"attachments-max-bytes", "ATTACHMENTS_MAX_BYTES", "10485760", "size limit of one attached file in bytes (10 MiB); a larger upload is refused with 413 as it arrives",
		func(c *Config, v string) (err error) {
			n, err := intIn(v, 1, 1<<40)
			c.AttachmentsMaxBytes = int64(n)
			return err
		}},
	{"attachments-s3-endpoint", "ATTACHMENTS_S3_ENDPOINT", "", "host:port of an S3-compatible object store for the bytes of attachments; empty: they are kept in PostgreSQL",
		func(c *Config, v string) error { c.AttachmentsS3.Endpoint = v; return nil }},
	{"attachments-s3-bucket", "ATTACHMENTS_S3_BUCKET", "corkboard-attachments", "bucket of the attachments (created at start when missing)",
		func(c *Config, v string) error { c.AttachmentsS3.Bucket = v; return nil }},
	{"attachments-s3-access-key", "ATTACHMENTS_S3_ACCESS_KEY", "", "access key of the object store",
		func(c *Config, v string) error { c.AttachmentsS3.AccessKey = v; return nil }},
	{"attachments-s3-secret-key", "ATTACHMENTS_S3_SECRET_KEY", "", "secret key of the object store",
		func(c *Config, v string) error { c.AttachmentsS3.SecretKey = v; return nil }},
	{"attachments-s3-region", "ATTACHMENTS_S3_REGION", "", "region of the bucket; empty: the store's default",
		func(c *Config, v string) error { c.AttachmentsS3.Region = v; return nil }},
	{"attachments-s3-use-ssl", "ATTACHMENTS_S3_USE_SSL", "true", "reach the object store over HTTPS",
		func(c *Config, v string) (err error) { c.AttachmentsS3.UseSSL, err = strconv.ParseBool(v); return }},
	{"attachments-sweep-interval", "ATTACHMENTS_SWEEP_INTERVAL", "1m", "how often each instance deletes stored files that no attachment names any more (besides right after each deletion): those of uploads cut off by a crash, deletions a crash interrupted",
		func(c *Config, v string) (err error) { c.AttachmentsSweepInterval, err = positiveDuration(v); return }},
}

// NATSTLS reports whether the connection to NATS uses TLS.
func (c Config) NATSTLS() bool { return c.NATSTLSOn || c.NATSTLSCA != "" || c.NATSTLSCert != "" }

// storeOptions are the pool settings of cfg.
func (c Config) storeOptions(maxConns int32) store.Options {
	return store.Options{MaxConns: maxConns, ConnectTimeout: c.DBConnectTimeout,
		StatementTimeout: c.DBStatementTimeout, LockTimeout: c.DBLockTimeout,
		IdleInTransactionTimeout: c.DBIdleInTxTimeout, KeepAlive: c.DBKeepAlive}
}

// errHelp is returned when -h asked for the usage, which has been printed.
var errHelp = flag.ErrHelp

// parseConfig builds the configuration from args (without the program and
// subcommand names) and getenv, validating every value.
func parseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { usage(out, name) }
	values := make([]*string, len(settings))
	for i, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[i] = fs.String(s.flag, def, s.usage)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	var c Config
	var errs []error
	for i, s := range settings {
		if err := s.set(&c, *values[i]); err != nil {
			errs = append(errs, fmt.Errorf("-%s / %s = %q: %w", s.flag, s.env, *values[i], err))
		}
	}
	if c.ShutdownTimeout > 0 && c.DrainDelay >= c.ShutdownTimeout {
		errs = append(errs, fmt.Errorf("-drain-delay / DRAIN_DELAY (%s) must be shorter than -shutdown-timeout / SHUTDOWN_TIMEOUT (%s)", c.DrainDelay, c.ShutdownTimeout))
	}
	if c.AdminAddr != "" && c.AdminAddr == c.Addr {
		errs = append(errs, fmt.Errorf("-admin-addr / ADMIN_ADDR must differ from -addr / ADDR (%s)", c.Addr))
	}
	if (c.NATSUser == "") != (c.NATSPassword == "") {
		errs = append(errs, errors.New("-nats-user / NATS_USER and -nats-password / NATS_PASSWORD go together"))
	}
	if (c.NATSTLSCert == "") != (c.NATSTLSKey == "") {
		errs = append(errs, errors.New("-nats-tls-cert / NATS_TLS_CERT and -nats-tls-key / NATS_TLS_KEY go together"))
	}
	if c.NATSURL == "" && c.NATSTLS() {
		errs = append(errs, errors.New("NATS TLS settings need NATS_URL: the instance reaches its in-process server without a network"))
	}
	if c.LocalReplica && (c.DatabaseURL != "" || c.DatabaseReplicaURL != "") {
		errs = append(errs, errors.New("-local-replica / LOCAL_REPLICA starts a replica of the private PostgreSQL: it goes with neither DATABASE_URL nor DATABASE_REPLICA_URL"))
	}
	if c.DatabaseURL == "" && c.LocalPostgres == "" {
		errs = append(errs, errors.New("no database: set DATABASE_URL, or -local-postgres DIR to start a private PostgreSQL"))
	}
	return c, errors.Join(errs...)
}

func usage(out io.Writer, name string) {
	fmt.Fprintf(out, "Usage: %s [serve|migrate] [flags]\n", name)
	fmt.Fprintf(out, "       %s healthcheck [-addr host:port] [-ready] [-timeout 3s]\n", name)
	fmt.Fprintf(out, "       %s -version\n\n", name)
	fmt.Fprintf(out, "  serve        start the server (the default)\n")
	fmt.Fprintf(out, "  migrate      apply database migrations and exit\n")
	fmt.Fprintf(out, "  healthcheck  GET /healthz (-ready: /readyz) of a running server; exit 0 when it answers 200\n")
	fmt.Fprintf(out, "  -version     print the version, commit and commit time this binary was built from, and exit\n\n")
	fmt.Fprintf(out, "Every flag can also be set by its environment variable; the flag wins.\n\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(out, "  -%s (%s, default %s)\n      %s\n", s.flag, s.env, def, s.usage)
	}
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// origins parses a list of origins, scheme://host[:port].
func origins(v string) ([]string, error) {
	list := splitList(v)
	for i, o := range list {
		o = strings.TrimSuffix(o, "/")
		list[i] = o
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("%q is not an origin like https://app.example.com", o)
		}
	}
	return list, nil
}

// prefixes parses a list of IP addresses and CIDRs.
func prefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range splitList(v) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func checkAddr(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("must be host:port or :port")
	}
	return nil
}

func intIn(v string, min, max int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("must be an integer from %d to %d", min, max)
	}
	return n, nil
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("must be a positive duration like 30s or 24h")
	}
	return d, nil
}

func nonNegativeDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("must be a duration like 2s, or 0")
	}
	return d, nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
}
