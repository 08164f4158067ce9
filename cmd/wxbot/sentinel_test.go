package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
)

// TestServeThroughSentinelFailover runs serve on Redis Sentinel
// (redis.addrs + redis.master_name): a master, a replica and a sentinel on
// loopback. The master is killed; the sentinel promotes the replica, serve
// follows it by itself, and a WeChat retry of a message answered before the
// failover still gets the same reply from the new master.
func TestServeThroughSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	quietRedisLog(slog.New(slog.DiscardHandler))
	master, replica := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	// Redis 7 waits repl-diskless-sync-delay (5 s) before a first sync:
	// none here, and the replica is in sync before anything is written.
	if err := master.Client().ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err(); err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer rc.Close()
	if err := rc.ReplicaOf(ctx, "127.0.0.1", strconv.Itoa(master.Port)).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the replica in sync", func() bool {
		info, _ := rc.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	sentinel := startSentinel(t, master.Port)

	env := opsEnv("")
	delete(env, "WXBOT_REDIS_ADDR")
	env["WXBOT_REDIS_ADDRS"] = sentinel
	env["WXBOT_REDIS_MASTER_NAME"] = "wxbotmaster"
	m, logs := startMainLogged(t, env, slog.LevelWarn, false)
	base := "http://" + m.Addr()
	acct := safeAccount()
	now := time.Now()
	p, _ := acct.Seal(wechatsim.Text("oSentinel", "gh_x", "GDPR", 424242, now.Unix()), wechatsim.Safe, now)
	first, err := acct.Send(http.DefaultClient, base+"/wechat", p)
	if err != nil || !strings.Contains(first.Content, "No.") {
		t.Fatalf("before the failover: %+v %v", first, err)
	}
	// The replica has the claim and the stored reply before the master dies.
	mc := redis.NewClient(&redis.Options{Addr: master.Addr})
	acked, err := mc.Wait(ctx, 1, 5*time.Second).Result()
	_ = mc.Close()
	if err != nil || acked != 1 {
		t.Fatalf("replication: WAIT answered %d, %v", acked, err)
	}

	master.Stop()
	waitFor(t, 30*time.Second, "the sentinel's failover and serve's readiness", func() bool {
		role, _ := rc.Do(ctx, "ROLE").Slice()
		if len(role) == 0 || role[0] != "master" {
			return false
		}
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	hits := metricValue(t, base, "wxbot_webhook_dedupe_hits_total")
	retry, err := acct.Send(http.DefaultClient, base+"/wechat", p)
	if err != nil || string(retry.Plain) != string(first.Plain) {
		t.Fatalf("retry after the failover: %+v %v\n%s", retry, err, logs.String())
	}
	if got := metricValue(t, base, "wxbot_webhook_dedupe_hits_total"); got != hits+1 {
		t.Fatalf("the retry after the failover was not recognised: dedupe hits %v → %v", hits, got)
	}
}

// startSentinel runs a Redis Sentinel watching the master on masterPort,
// with quorum 1 and a 1 s down-after, and returns its address.
func startSentinel(t *testing.T, masterPort int) string {
	t.Helper()
	dir := t.TempDir()
	port := redistest.FreePort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor wxbotmaster 127.0.0.1 %d 1
sentinel down-after-milliseconds wxbotmaster 1000
sentinel failover-timeout wxbotmaster 5000
sentinel parallel-syncs wxbotmaster 1
`, port, dir, filepath.Join(dir, "sentinel.log"), masterPort)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found in PATH: install it or run .ci/run")
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer sc.Close()
	waitFor(t, 10*time.Second, "the sentinel", func() bool {
		_, err := sc.GetMasterAddrByName(context.Background(), "wxbotmaster").Result()
		return err == nil
	})
	return addr
}
