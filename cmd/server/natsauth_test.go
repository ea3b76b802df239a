package main

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/corkboard/corkboard/devtools/pgtest"
	"github.com/corkboard/corkboard/devtools/testcert"
	"github.com/corkboard/corkboard/internal/natsbus"
	"github.com/corkboard/corkboard/internal/store"
)

// Instances on a NATS cluster that requires a user and TLS deliver each
// other's events over it (the head check is made too slow to do it for
// them); an instance with a wrong password does not start.
func TestAuthenticatedTLSNATS(t *testing.T) {
	cert, ca := testcert.Loopback(t)
	nodes, err := natsbus.StartClusterWith("corkboard-auth", 2, natsbus.ServerOptions{User: "corkboard", Password: "s3cret",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		t.Cleanup(n.Shutdown)
	}
	db := pgtest.NewDatabase(t, "server", store.Migrate)
	var apps []*App
	for i := range 2 {
		cfg := testConfig(db, nodes[i].ClientURL())
		cfg.NATSUser, cfg.NATSPassword, cfg.NATSTLSCA = "corkboard", "s3cret", ca
		cfg.HeadInterval = time.Hour
		apps = append(apps, startApp(t, cfg))
	}
	owner := apps[0].api(t, "owner")
	boardID, col := owner.newBoard("over tls")
	s := dialSubscriber(t, apps[1], "owner", "sub")
	s.subscribe(boardID, 0)
	head := s.waitSubscribed(boardID)
	owner.mustDo("POST", "/api/boards/"+boardID+"/cards", map[string]any{"column_id": col, "title": "across"}, nil)
	waitFor(t, 15*time.Second, "the event over NATS", func() bool { return s.last(boardID) > head })
	s.checkExactly(t, boardID, 1, head+1)

	cfg := testConfig(db, nodes[0].ClientURL())
	cfg.NATSUser, cfg.NATSPassword, cfg.NATSTLSCA = "corkboard", "guess", ca
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if a, err := Start(ctx, cfg, testLogger()); err == nil {
		a.Close()
		t.Fatal("an instance with a wrong NATS password started")
	} else if !strings.Contains(err.Error(), "nats") {
		t.Errorf("the refusal does not name NATS: %v", err)
	}
}

// The in-process NATS server of a single instance takes no anonymous
// publisher: whoever could publish could forge events.
func TestEmbeddedNATSRequiresAPassword(t *testing.T) {
	a := startApp(t, testConfig(pgtest.NewDatabase(t, "server", store.Migrate), ""))
	if a.nats == nil {
		t.Fatal("no in-process NATS server")
	}
	nc, err := nats.Connect(a.nats.ClientURL(), nats.Timeout(5*time.Second))
	if err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the in-process NATS server")
	}
	if !a.bus.Connected() {
		t.Error("the instance's own bus is not connected")
	}
}
