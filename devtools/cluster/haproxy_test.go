package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHAProxyConfig: the config the cluster runs is deploy/haproxy.cfg with
// only its server lines changed (one per instance, each with the options of
// the file's own), and HAProxy accepts it.
func TestHAProxyConfig(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	servers := []string{"127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083", "127.0.0.1:18084"}
	got, err := HAProxyConfig(src, servers)
	if err != nil {
		t.Fatal(err)
	}
	var orig, kept, added []string
	var opts string
	for l := range strings.Lines(string(src)) {
		if m := serverLine.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			if opts == "" {
				opts = m[2]
			}
			continue
		}
		orig = append(orig, l)
	}
	for l := range strings.Lines(string(got)) {
		if strings.HasPrefix(strings.TrimSpace(l), "server ") {
			added = append(added, strings.TrimSpace(l))
			continue
		}
		kept = append(kept, l)
	}
	if strings.Join(kept, "") != strings.Join(orig, "") {
		t.Errorf("lines other than the server lines changed:\n%s", got)
	}
	if len(added) != len(servers) {
		t.Fatalf("%d server lines, want %d:\n%s", len(added), len(servers), got)
	}
	for i, s := range servers {
		want := strings.TrimSpace("server server" + strconv.Itoa(i+1) + " " + s + opts)
		if added[i] != want {
			t.Errorf("server line %d = %q, want %q", i, added[i], want)
		}
	}
	if _, err := HAProxyConfig([]byte("defaults\n    mode http\n"), servers); err == nil {
		t.Error("a config without a server line was accepted")
	}

	bin, err := haproxyBinary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, got, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "-f", path)
	cmd.Env = append(os.Environ(), "LB_BIND=127.0.0.1:18080", "LB_MAXCONN=1000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s", err, out)
	}
}
