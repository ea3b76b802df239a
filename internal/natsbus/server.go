package natsbus

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
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
	}
	if o.ClusterPort != 0 {
		opts.Cluster = server.ClusterOpts{Name: o.Cluster, Host: o.Host, Port: o.ClusterPort}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("nats route %q: %w", r, err)
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
