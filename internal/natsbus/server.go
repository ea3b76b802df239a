package natsbus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configure an in-process NATS server.
type ServerOptions struct {
	Host string // default 127.0.0.1
	Port int    // client port; -1 picks a free one
	// Cluster, when ClusterPort is set, makes the server a node of a
	// cluster named Cluster with routes to Routes (nats-route://host:port).
	Cluster     string
	ClusterPort int // -1 picks a free one
	Routes      []string
	Name        string
	// User and Password, when set, are required of clients and of the
	// other nodes' routes.
	User, Password string
	// TLS, when set, is required of clients (the server's certificate and,
	// for client certificates, ClientCAs with ClientAuth).
	TLS *tls.Config
	// NoProducerStall makes the server drop what a slow subscriber cannot
	// take at once (a slow consumer, whose gaps the hub fills) instead of
	// holding up the publisher's connection for up to a few milliseconds
	// first. Set it when the publisher talks to the server in-process
	// (Options.Server): that pipe has no socket buffer, so a stall would
	// reach the publishing goroutine, where over TCP the kernel's buffer
	// absorbs it.
	NoProducerStall bool
}

// Server is an in-process NATS server: the single binary's default, and the
// nodes of test clusters.
type Server struct {
	s *server.Server
}

// StartServer starts a NATS server in this process and waits until it
// accepts clients.
func StartServer(o ServerOptions) (*Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	opts := &server.Options{
		ServerName: o.Name,
		Host:       o.Host,
		Port:       o.Port,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 1 << 20,
		Username:   o.User,
		Password:   o.Password,

		NoFastProducerStall: o.NoProducerStall,
	}
	if o.TLS != nil {
		opts.TLSConfig = o.TLS
		opts.TLS = true
		opts.TLSVerify = o.TLS.ClientAuth == tls.RequireAndVerifyClientCert
		opts.TLSTimeout = 5
	}
	if o.ClusterPort != 0 {
		opts.Cluster = server.ClusterOpts{Name: o.Cluster, Host: o.Host, Port: o.ClusterPort,
			Username: o.User, Password: o.Password}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("nats route %q: %w", r, err)
			}
			if o.User != "" && u.User == nil {
				u.User = url.UserPassword(o.User, o.Password)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server did not start within 10s")
	}
	return &Server{s: s}, nil
}

// InProcessConn is a new client connection to the server through an
// in-process pipe (nats.InProcessServer; Options.Server).
func (s *Server) InProcessConn() (net.Conn, error) { return s.s.InProcessConn() }

// alone reports whether at most one client is connected, the bus's own
// in-process connection, which (NoEcho) receives nothing it sends, and no
// other server by a route or a leaf node connection: nothing published on
// the server can then reach anyone.
func (s *Server) alone() bool {
	return s.s.NumClients() <= 1 && s.s.NumRemotes() == 0 && s.s.NumLeafNodes() == 0
}

// ClientURL is the URL clients connect to.
func (s *Server) ClientURL() string { return s.s.ClientURL() }

// RouteURL is the URL other cluster nodes route to (empty without a cluster).
func (s *Server) RouteURL() string {
	a := s.s.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats-route://" + net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port))
}

// ClientPort is the port clients connect to.
func (s *Server) ClientPort() int { return s.s.Addr().(*net.TCPAddr).Port }

// ClusterPort is the port cluster routes connect to (0 without a cluster).
func (s *Server) ClusterPort() int {
	if a := s.s.ClusterAddr(); a != nil {
		return a.Port
	}
	return 0
}

// NumRoutes is the number of routes to other nodes.
func (s *Server) NumRoutes() int { return s.s.NumRoutes() }

// Shutdown stops the server.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}

// StartCluster starts n in-process NATS servers routed into one cluster
// named name, on free loopback ports, and returns once every node routes to
// every other (or an error, with the nodes already started shut down).
func StartCluster(name string, n int) ([]*Server, error) {
	return StartClusterWith(name, n, ServerOptions{})
}

// StartClusterWith is StartCluster with the nodes' authentication and TLS
// (o.User, o.Password, o.TLS; its other fields are ignored).
func StartClusterWith(name string, n int, o ServerOptions) ([]*Server, error) {
	var nodes []*Server
	fail := func(err error) ([]*Server, error) {
		for _, s := range nodes {
			s.Shutdown()
		}
		return nil, err
	}
	for i := range n {
		o := ServerOptions{Port: -1, Cluster: name, ClusterPort: -1, Name: fmt.Sprintf("%s-%d", name, i+1),
			User: o.User, Password: o.Password, TLS: o.TLS}
		if i > 0 {
			o.Routes = []string{nodes[0].RouteURL()}
		}
		s, err := StartServer(o)
		if err != nil {
			return fail(fmt.Errorf("nats node %d: %w", i+1, err))
		}
		nodes = append(nodes, s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range nodes {
		for s.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("the %d NATS nodes did not route to each other within 10s", n))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nodes, nil
}

// ClientURLs is the NATS_URL of a cluster: its nodes' client URLs, joined
// by commas.
func ClientURLs(nodes []*Server) string {
	urls := make([]string, len(nodes))
	for i, s := range nodes {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}

// TLSConfig is the client side of TLS to NATS: the server's certificate is
// checked against the CA certificates in caFile (PEM; empty: the system's
// roots), and certFile and keyFile (PEM, both or neither) are the client
// certificate for servers that verify clients.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read nats ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nats ca %s: no PEM certificate in it", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("a nats client certificate needs both its certificate and its key file")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load nats client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
