package web

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// These tests run the page's modules in Node.js: pageModule names one for
// an import, runNode runs a script and wants it to print "ok" (and nothing
// else) and exit 0.

// pageModule returns the quoted file URL of the page's module at path
// (relative to this folder), for an import in a script.
func pageModule(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Quote("file://" + abs)
}

// runNode runs node with args (a script file, or "--input-type=module",
// "-e", a script) and fails the test unless it prints "ok" and exits 0;
// what runs is named in the failure.
func runNode(t *testing.T, what string, args ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test runs the page's %s in Node.js: run `apt-get install -y nodejs`", what)
	}
	out, err := exec.Command(node, args...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
}

// runModuleScript runs an ES module script given as text.
func runModuleScript(t *testing.T, what, script string) {
	t.Helper()
	runNode(t, what, "--input-type=module", "-e", script)
}
