// Package s3test runs a real S3-compatible server for tests: SeaweedFS
// (`weed mini`: master, volume, filer and S3 gateway in one process) on
// loopback, with free ports, a temporary directory and S3 credentials,
// killed when the test ends (or its process dies).
//
// The binary is built from source by scripts/seaweedfs.sh (scripts/test.sh
// runs it) into the user's cache; CORKBOARD_WEED names another.
package s3test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corkboard/corkboard/internal/attachment"
	"github.com/corkboard/corkboard/internal/childproc"
)

// Version is the SeaweedFS module version scripts/seaweedfs.sh builds.
const Version = "v0.0.0-20261109003541-7506e5f91cd6"

// Credentials of the server's one identity (an admin).
const (
	AccessKey = "corkboard-test"
	SecretKey = "corkboard-test-secret"
)

// Binary returns the path of the weed binary: $CORKBOARD_WEED, or where
// scripts/seaweedfs.sh puts it.
func Binary() string {
	if p := os.Getenv("CORKBOARD_WEED"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "corkboard", "seaweedfs-"+Version, "weed")
}

// Server is a running SeaweedFS with an S3 endpoint.
type Server struct {
	Endpoint string // host:port of the S3 gateway
	t        testing.TB
	proc     *childproc.Process
	cmd      *exec.Cmd
	stopOnce sync.Once
	buckets  int
}

// Start starts a server for the test; it is killed when the test ends. It
// fails the test, naming the command to run, when SeaweedFS is not built.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("SeaweedFS (the S3 server of the attachment tests) is not built at %s: run scripts/seaweedfs.sh "+
			"(or set CORKBOARD_WEED to a weed binary)", bin)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"identities":[{"name":"corkboard","credentials":[{"accessKey":%q,"secretKey":%q}],`+
		`"actions":["Admin","Read","Write","List","Tagging"]}]}`, AccessKey, SecretKey)
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 12)
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	args := []string{"mini", "-dir=" + filepath.Join(dir, "data"),
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + p(0), "-master.port.grpc=" + p(1), "-master.volumeSizeLimitMB=64",
		"-volume.port=" + p(2), "-volume.port.grpc=" + p(3),
		"-filer.port=" + p(4), "-filer.port.grpc=" + p(5), "-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3.port=" + p(6), "-s3.port.grpc=" + p(7), "-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"), "-s3.config=" + filepath.Join(dir, "s3.json"),
		"-admin.ui=false", "-admin.port=" + p(8), "-admin.port.grpc=" + p(9), "-admin.port.legacy=0",
		"-webdav=false", "-debug.port=" + p(10), "-metricsPort=" + p(11),
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	proc, err := childproc.Start(cmd)
	if err != nil {
		t.Fatalf("start SeaweedFS: %v", err)
	}
	s := &Server{Endpoint: "127.0.0.1:" + p(6), t: t, proc: proc, cmd: cmd}
	t.Cleanup(func() {
		s.Stop()
		log.Close()
	})
	s.waitReady(filepath.Join(dir, "weed.log"))
	return s
}

// waitReady waits until the S3 gateway answers an authenticated request.
func (s *Server) waitReady(logPath string) {
	s.t.Helper()
	st, err := attachment.NewS3(s.config("ready-check"))
	if err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := st.Keys(ctx)
		cancel()
		if err == nil || isNoSuchBucket(err) {
			return
		}
		select {
		case <-s.proc.Done():
			out, _ := os.ReadFile(logPath)
			s.t.Fatalf("SeaweedFS exited: %v\n%s", s.proc.Err(), out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			s.t.Fatalf("SeaweedFS's S3 gateway not ready after 90s: %v\n%s", err, out)
		}
	}
}

func isNoSuchBucket(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "NoSuchBucket") || strings.Contains(err.Error(), "does not exist"))
}

func (s *Server) config(bucket string) attachment.S3Config {
	return attachment.S3Config{Endpoint: s.Endpoint, Bucket: bucket, AccessKey: AccessKey, SecretKey: SecretKey,
		Region: "us-east-1", Timeout: 10 * time.Second}
}

// Bucket makes a new bucket and returns the storage in it.
func (s *Server) Bucket() (*attachment.S3, attachment.S3Config) {
	s.t.Helper()
	s.buckets++
	c := s.config(fmt.Sprintf("corkboard-%d", s.buckets))
	st, err := attachment.NewS3(c)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := st.EnsureBucket(s.t.Context()); err != nil {
		s.t.Fatalf("make bucket %s: %v", c.Bucket, err)
	}
	return st, c
}

// Stop kills the server (for tests of an unreachable store) and waits for
// it to exit.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Kill() //nolint:errcheck // it may have exited
		<-s.proc.Done()
	})
}

// freePorts returns n ports that were free on 127.0.0.1 a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
