// Package redistest starts real redis-server processes on free loopback
// ports for tests: a single server that a test may stop and restart under
// the code it tests, or a 3-master Redis Cluster. Tests never share state
// through the machine's own Redis on 6379.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server child process.
type Server struct {
	Addr string
	Port int

	t   testing.TB
	dir string
	cmd *exec.Cmd
}

// binary finds redis-server or fails the test with what to install.
func binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: install it (apt-get install -y redis-server) or run .ci/run, which does", name)
	}
	return p
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a fresh, empty redis-server for this test and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir()}
	s.Port = FreePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(extra ...string) {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}, extra...)
	cmd := exec.Command(binary(s.t, "redis-server"), args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.cmd = cmd
	waitReady(s.t, s.Addr)
}

// Stop kills the server; data is lost. Safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
	s.cmd = nil
}

// Restart stops the server and starts an empty one on the same port,
// as after a crash of a Redis that keeps nothing on disk.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Client returns a go-redis client for the server, closed at cleanup.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

func waitReady(t testing.TB, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: redis-server on %s not ready after 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Cluster is a 3-master Redis Cluster on loopback.
type Cluster struct {
	Addrs []string
	nodes []*Server
}

// StartCluster starts three cluster-enabled servers and joins them with
// redis-cli --cluster create, then waits until the cluster reports ok.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cl := &Cluster{}
	for i := 0; i < 3; i++ {
		s := &Server{t: t, dir: t.TempDir()}
		s.Port = FreePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		s.start("--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes.conf"),
			"--cluster-node-timeout", "2000")
		t.Cleanup(s.Stop)
		cl.nodes = append(cl.nodes, s)
		cl.Addrs = append(cl.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, cl.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(binary(t, "redis-cli"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range cl.Addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				t.Fatalf("redistest: cluster node %s not ok after 20s: %v %s", addr, err, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = c.Close()
	}
	return cl
}

// Client returns a cluster client, closed at cleanup.
func (cl *Cluster) Client(t testing.TB) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// String describes the server for failure messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
