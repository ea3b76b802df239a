package main

import (
	"bufio"
	"context"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// There is no Docker engine on the build machines: compose.yaml, the
// Dockerfile and deploy/haproxy.cfg are checked statically here, against
// what the server reads.

const repoRoot = "../.."

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "compose.yaml")}},
		Environment: types.Mapping{}, // POSTGRES_PASSWORD unset: its default applies
	}, func(o *loader.Options) { o.SetProjectName("corkboard", true) })
	if err != nil {
		t.Fatalf("compose.yaml does not load (compose-go validates it against the compose spec): %v", err)
	}
	return p
}

// serverServices are the services that run the server image.
func serverServices(p *types.Project) (servers []types.ServiceConfig, migrate *types.ServiceConfig) {
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		if s.Build == nil {
			continue
		}
		if slices.Contains(s.Command, "migrate") {
			migrate = &s
			continue
		}
		servers = append(servers, s)
	}
	return servers, migrate
}

// envOf is a service's environment as a getenv function, and its keys.
func envOf(s types.ServiceConfig) (func(string) string, []string) {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return func(k string) string { return m[k] }, slices.Sorted(maps.Keys(m))
}

func TestComposeTopology(t *testing.T) {
	p := loadCompose(t)
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
	}
	servers, migrate := serverServices(p)
	if len(servers) != 3 {
		t.Fatalf("%d server services, want 3", len(servers))
	}
	if migrate == nil {
		t.Fatal("no one-shot migrate service (command: [migrate])")
	}

	// NATS: three nodes routed into one cluster.
	var natsNodes []string
	for name, s := range p.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			natsNodes = append(natsNodes, name)
		}
	}
	slices.Sort(natsNodes)
	if len(natsNodes) != 3 {
		t.Fatalf("NATS nodes %v, want 3", natsNodes)
	}
	for _, n := range natsNodes {
		cmd := strings.Join(p.Services[n].Command, " ")
		for _, want := range []string{"--cluster_name corkboard", "--port 4222", "--cluster nats://route:corkboard@0.0.0.0:6222",
			"--user corkboard --pass corkboard"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s: command %q lacks %q (clients and routes must authenticate)", n, cmd, want)
			}
		}
		for _, other := range natsNodes {
			if !strings.Contains(cmd, "nats://route:corkboard@"+other+":6222") {
				t.Errorf("%s: no authenticated route to %s", n, other)
			}
		}
		if p.Services[n].HealthCheck == nil {
			t.Errorf("%s has no health check (the servers wait for it)", n)
		}
	}

	// PostgreSQL keeps its data in a named volume.
	pg, ok := p.Services["postgres"]
	if !ok {
		t.Fatal("no postgres service")
	}
	if !slices.ContainsFunc(pg.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == "volume" && v.Target == "/var/lib/postgresql/data" && p.Volumes[v.Source].Name != ""
	}) {
		t.Errorf("postgres keeps no data in a named volume: %+v", pg.Volumes)
	}
	pgEnv, _ := envOf(pg)

	// The balancer: the only published port, a fixed address the servers
	// trust, and a config that matches the servers.
	lb, ok := p.Services["lb"]
	if !ok {
		t.Fatal("no lb service")
	}
	var lbIP string
	for _, n := range lb.Networks {
		if n != nil && n.Ipv4Address != "" {
			lbIP = n.Ipv4Address
		}
	}
	if lbIP == "" {
		t.Fatal("the lb has no fixed address for TRUSTED_PROXIES")
	}
	if len(lb.Ports) != 1 || lb.Ports[0].Target != 8080 {
		t.Errorf("lb ports %+v, want 8080", lb.Ports)
	}
	for name, s := range p.Services {
		if name != "lb" && len(s.Ports) > 0 {
			t.Errorf("%s publishes ports %+v: traffic goes through the lb (and the admin endpoint stays private)", name, s.Ports)
		}
	}
	var cfgMounted bool
	for _, v := range lb.Volumes {
		if v.Type == "bind" && strings.HasSuffix(v.Source, filepath.Join("deploy", "haproxy.cfg")) &&
			v.Target == "/usr/local/etc/haproxy/haproxy.cfg" {
			cfgMounted = true
		}
	}
	if !cfgMounted {
		t.Errorf("lb does not mount deploy/haproxy.cfg: %+v", lb.Volumes)
	}

	// Every server and the migration: only settings the server knows, with
	// values it accepts, pointing at the services above.
	for _, s := range append(slices.Clone(servers), *migrate) {
		getenv, keys := envOf(s)
		for _, k := range keys {
			if !known[k] {
				t.Errorf("%s sets %s, which the server does not read (config.go's settings)", s.Name, k)
			}
		}
		cfg, err := parseConfig("server", nil, getenv, io.Discard)
		if err != nil {
			t.Errorf("%s: the server would refuse its settings: %v", s.Name, err)
			continue
		}
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil || u.Hostname() != "postgres" || u.Port() != "5432" || u.User.Username() != pgEnv("POSTGRES_USER") ||
			strings.TrimPrefix(u.Path, "/") != pgEnv("POSTGRES_DB") {
			t.Errorf("%s: DATABASE_URL %q does not point at the postgres service's user and database", s.Name, cfg.DatabaseURL)
		} else if pw, _ := u.User.Password(); pw != pgEnv("POSTGRES_PASSWORD") {
			t.Errorf("%s: DATABASE_URL's password is not POSTGRES_PASSWORD's", s.Name)
		}
		if s.Name == migrate.Name {
			if !s.DependsOn["postgres"].Required || s.DependsOn["postgres"].Condition != types.ServiceConditionHealthy {
				t.Errorf("migrate does not wait for a healthy postgres: %+v", s.DependsOn)
			}
			continue
		}
		if cfg.Migrate {
			t.Errorf("%s migrates at start: the migrate service does it once", s.Name)
		}
		if d := s.DependsOn["migrate"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s does not wait for the migration: %+v", s.Name, s.DependsOn)
		}
		var natsHosts []string
		for _, n := range strings.Split(cfg.NATSURL, ",") {
			u, err := url.Parse(n)
			if err != nil || u.Scheme != "nats" || u.Port() != "4222" {
				t.Errorf("%s: NATS_URL entry %q", s.Name, n)
				continue
			}
			natsHosts = append(natsHosts, u.Hostname())
			if d := s.DependsOn[u.Hostname()]; d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for %s", s.Name, u.Hostname())
			}
		}
		if cfg.NATSUser != "corkboard" || cfg.NATSPassword != "corkboard" {
			t.Errorf("%s: NATS_USER %q / NATS_PASSWORD %q, not the user the NATS nodes require", s.Name, cfg.NATSUser, cfg.NATSPassword)
		}
		slices.Sort(natsHosts)
		if !slices.Equal(natsHosts, natsNodes) {
			t.Errorf("%s: NATS_URL names %v, want every node %v", s.Name, natsHosts, natsNodes)
		}
		_, port, _ := net.SplitHostPort(cfg.Addr)
		if port != "8080" {
			t.Errorf("%s: ADDR %q, the lb sends to 8080", s.Name, cfg.Addr)
		}
		if cfg.AdminAddr == "" {
			t.Errorf("%s: no admin endpoint for Prometheus", s.Name)
		}
		ip := netip.MustParseAddr(lbIP)
		if !slices.ContainsFunc(cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			t.Errorf("%s: TRUSTED_PROXIES %v does not include the lb's %s", s.Name, cfg.TrustedProxies, lbIP)
		}
		if cfg.DrainDelay <= 2*time.Second { // haproxy: inter 1s fall 2
			t.Errorf("%s: DRAIN_DELAY %s is too short for the lb's health check to notice", s.Name, cfg.DrainDelay)
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= cfg.ShutdownTimeout {
			t.Errorf("%s: stop_grace_period %v must exceed SHUTDOWN_TIMEOUT %s", s.Name, s.StopGracePeriod, cfg.ShutdownTimeout)
		}
		if d := lb.DependsOn[s.Name]; d.Condition != types.ServiceConditionHealthy {
			t.Errorf("lb does not wait for %s to be healthy", s.Name)
		}
	}
	checkHAProxy(t, servers)
}

// checkHAProxy reads deploy/haproxy.cfg as compose.yaml runs it (every
// "${LB_...-default}" at its default: compose sets none): round-robin over
// exactly the server services on their ADDR port, readiness checks on
// /readyz, a tunnel timeout for WebSockets, X-Forwarded-For, and nothing
// sticky.
func checkHAProxy(t *testing.T, servers []types.ServiceConfig) {
	f, err := os.Open(filepath.Join(repoRoot, "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		line = envDefault.ReplaceAllString(line, "$1")
		if line != "" {
			lines = append(lines, strings.Join(strings.Fields(line), " "))
		}
	}
	for _, want := range []string{"mode http", "balance roundrobin", "option httpchk", "http-check send meth GET uri /readyz",
		"http-check expect status 200", "option forwardfor", "timeout tunnel 1h", "bind :8080"} {
		if !slices.Contains(lines, want) {
			t.Errorf("deploy/haproxy.cfg lacks %q", want)
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "cookie ") || strings.HasPrefix(l, "stick") || strings.Contains(l, "balance source") {
			t.Errorf("deploy/haproxy.cfg has stickiness: %q", l)
		}
	}
	serverLine := regexp.MustCompile(`^server (\S+) (\S+):(\d+)`)
	var backends []string
	for _, l := range lines {
		if m := serverLine.FindStringSubmatch(l); m != nil {
			if m[1] != m[2] || m[3] != "8080" {
				t.Errorf("deploy/haproxy.cfg: %q", l)
			}
			backends = append(backends, m[2])
		}
	}
	var names []string
	for _, s := range servers {
		names = append(names, s.Name)
	}
	if !slices.Equal(backends, names) {
		t.Errorf("deploy/haproxy.cfg balances over %v, compose.yaml runs %v", backends, names)
	}
}

// envDefault is an environment variable with a default, as HAProxy expands
// it when the variable is not set.
var envDefault = regexp.MustCompile(`"\$\{[A-Z_]+-([^}]*)\}"`)

// dockerfileStage is one FROM … of a Dockerfile with its instructions.
type dockerfileStage struct {
	from, name string
	instrs     [][2]string // instruction (upper case), arguments
}

func parseDockerfile(t *testing.T) (stages []dockerfileStage, args map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	args = map[string]string{}
	var logical []string
	var cur strings.Builder
	for _, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	for _, l := range logical {
		instr, rest, _ := strings.Cut(l, " ")
		instr, rest = strings.ToUpper(instr), strings.TrimSpace(rest)
		switch {
		case instr == "ARG" && len(stages) == 0:
			k, v, _ := strings.Cut(rest, "=")
			args[k] = v
		case instr == "FROM":
			f := strings.Fields(rest)
			st := dockerfileStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case len(stages) > 0:
			s := &stages[len(stages)-1]
			s.instrs = append(s.instrs, [2]string{instr, rest})
		}
	}
	return stages, args
}

func TestDockerfile(t *testing.T) {
	stages, args := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a multi-stage build", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name == "" || !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("the first stage %q (%s) is not a named golang build stage", build.from, build.name)
	}
	// The build image's Go is go.mod's.
	gomod, _ := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	from := strings.ReplaceAll(build.from, "${GO_VERSION}", args["GO_VERSION"])
	if goLine == nil || !strings.HasPrefix(from, "golang:"+string(goLine[1])) {
		t.Errorf("build stage FROM %s, go.mod says go %s", from, goLine[1])
	}
	has := func(s dockerfileStage, instr, sub string) bool {
		return slices.ContainsFunc(s.instrs, func(i [2]string) bool { return i[0] == instr && strings.Contains(i[1], sub) })
	}
	if !has(build, "ENV", "CGO_ENABLED=0") && !has(build, "RUN", "CGO_ENABLED=0") {
		t.Error("the build stage does not set CGO_ENABLED=0: the binary must be static")
	}
	if !has(build, "RUN", "go build") || !has(build, "RUN", "./cmd/server") {
		t.Error("the build stage does not go build ./cmd/server")
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s: want distroless/static or scratch", final.from)
	}
	if !has(final, "COPY", "--from="+build.name) {
		t.Error("the final stage copies nothing from the build stage")
	}
	var user string
	for _, i := range final.instrs {
		if i[0] == "USER" {
			user = i[1]
		}
	}
	if name, _, _ := strings.Cut(user, ":"); user == "" || name == "root" || name == "0" {
		t.Errorf("the final stage runs as %q: want a non-root USER", user)
	}
	var hc string
	for _, i := range final.instrs {
		if i[0] == "HEALTHCHECK" {
			hc = i[1]
		}
	}
	if !regexp.MustCompile(`CMD \["/server", "healthcheck"`).MatchString(hc) {
		t.Errorf("HEALTHCHECK %q: want the exec form of `server healthcheck` (the image has no shell)", hc)
	}
	if !has(final, "ENTRYPOINT", `["/server"]`) || !has(final, "EXPOSE", "8080") || !has(final, "ENV", "ADDR=:8080") {
		t.Error("the final stage must run /server, serving on :8080 (ADDR), exposed")
	}
	// The settings the image sets are the server's.
	for _, i := range final.instrs {
		if i[0] != "ENV" {
			continue
		}
		for _, kv := range strings.Fields(i[1]) {
			k, _, _ := strings.Cut(kv, "=")
			if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == k }) {
				t.Errorf("the image sets %s, which the server does not read", k)
			}
		}
	}
	// The build context leaves out what the build does not need.
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".data", "web/node_modules"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// TestServerBuildsWithoutCgo: nothing ./cmd/server imports needs cgo, so the
// Dockerfile's CGO_ENABLED=0 build is the same program.
func TestServerBuildsWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}", "./cmd/server")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("packages that need cgo: %s", s)
	}
}
