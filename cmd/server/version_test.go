package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/internal/ops"
	"github.com/corkboard/corkboard/internal/store"
)

func TestVersionFlag(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"-version"}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "corkboard server " + ops.BuildVersion().String() + "\n"; out.String() != want {
		t.Fatalf("-version printed %q, want %q", out.String(), want)
	}
}

// TestStartupLogAndHealthzNameTheVersion: the "serving" log line and
// /healthz (on the API address and the admin one) carry the build's version.
func TestStartupLogAndHealthzNameTheVersion(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "corkboard", store.Migrate)
	_, natsURL := natsCluster(t, 1)
	cfg := testConfig(dbURL, natsURL)
	cfg.AdminAddr = "127.0.0.1:0"
	var logs versionLogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Start(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.closeOnce() })
	want := ops.BuildVersion()
	var serving bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "serving" {
			serving = true
			if rec["version"] != want.String() {
				t.Errorf("the serving line %q says version %v, want %q", line, rec["version"], want.String())
			}
		}
	}
	if !serving {
		t.Fatalf("no serving line in %s", logs.String())
	}
	for _, base := range []string{"http://" + a.Addr(), "http://" + a.AdminAddr()} {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		var got ops.Liveness
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || got.Status != "ok" || got.Version != want {
			t.Errorf("%s/healthz: %d %+v (%v), want status ok and %+v", base, resp.StatusCode, got, err, want)
		}
	}
}

// versionLogBuffer is a bytes.Buffer for a logger that other goroutines write to.
type versionLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *versionLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *versionLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestVersionStampedFromGit builds the server from a clone of a commit of
// the working tree and checks that -version names that commit with its time:
// the version comes from build info, not a constant someone must remember
// to bump. The commit is made with a throwaway index (no branch, no change
// to the checkout), so the code under test is the code in the tree. A clone
// because go stamps only a checkout whose .git is a directory (not a git
// worktree's .git file); -buildvcs=true because a GOFLAGS=-buildvcs=false
// in the environment would leave the stamp out.
func TestVersionStampedFromGit(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "corkboard")
	git := func(dir string, args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s (the test needs git and a checkout: apt-get install git)", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	index := filepath.Join(t.TempDir(), "index")
	add := exec.Command("git", "-C", root, "add", "-A", ".")
	add.Env = append(os.Environ(), "GIT_INDEX_FILE="+index)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("git add: %v: %s (the test needs git and a checkout: apt-get install git)", err, out)
	}
	tree := exec.Command("git", "-C", root, "write-tree")
	tree.Env = add.Env
	treeID, err := tree.Output()
	if err != nil {
		t.Fatalf("git write-tree: %v", err)
	}
	head := git(root, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit-tree", "-m", "working tree", strings.TrimSpace(string(treeID)))
	git(root, "clone", "-q", "--shared", "--no-checkout", root, clone)
	git(clone, "checkout", "-q", "--detach", head)
	committed := git(clone, "show", "-s", "--format=%ct", "HEAD")
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/server")
	build.Dir = clone
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-version").Output()
	if err != nil {
		t.Fatalf("server -version: %v", err)
	}
	// "v0.0.0-20261201090000-1a2b3c4d5e6f 2026-12-01T09:00:00Z": a
	// pseudo-version names the commit itself; a tag is followed by it.
	f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(string(out)), "corkboard server "))
	if len(f) < 2 || len(f) > 3 || !strings.Contains(string(out), head[:12]) || f[len(f)-1] == "modified" {
		t.Fatalf("server -version printed %q, want the version naming %s and the commit time (and not modified)", out, head[:12])
	}
	secs, _ := strconv.ParseInt(committed, 10, 64)
	if at, err := time.Parse(time.RFC3339, f[len(f)-1]); err != nil || !at.Equal(time.Unix(secs, 0)) {
		t.Fatalf("server -version printed time %q, the commit is of %s", f[len(f)-1], time.Unix(secs, 0).UTC())
	}
}
