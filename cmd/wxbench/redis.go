package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisNode is a redis-server child.
type redisNode struct {
	addr string
	proc *child
}

// startRedis runs a fresh redis-server on a free loopback port, keeping
// nothing on disk; extra are further server options.
func startRedis(ctx context.Context, cs *children, name string, extra ...string) (*redisNode, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found in PATH (apt-get install -y redis-server): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cs.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"}, extra...)
	c, err := cs.start(name, bin, nil, args...)
	if err != nil {
		return nil, err
	}
	n := &redisNode{addr: loopback(port), proc: c}
	client := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1})
	defer client.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := client.Ping(pctx).Err()
		cancel()
		if err == nil {
			return n, nil
		}
		if c.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("%s not ready on %s: %v\n%s", name, n.addr, err, c.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCluster starts three cluster-enabled servers, joins them as a
// 3-master Redis Cluster (redis-cli --cluster create) and waits until every
// node reports cluster_state:ok.
func startCluster(ctx context.Context, cs *children) ([]*redisNode, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli not found in PATH (apt-get install -y redis-tools): %w", err)
	}
	var nodes []*redisNode
	var addrs []string
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("redis-cluster-%d", i)
		n, err := startRedis(ctx, cs, name, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(cs.dir, name, "nodes.conf"), "--cluster-node-timeout", "2000")
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		addrs = append(addrs, n.addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(cctx, cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.addr})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				_ = c.Close()
				return nil, fmt.Errorf("cluster node %s not ok after 20s: %v", n.addr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = c.Close()
	}
	return nodes, nil
}

// redisVersion asks a node for its version, for the report.
func redisVersion(ctx context.Context, addr string) string {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "?"
}
