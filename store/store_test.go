package store

import (
	"context"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
)

func TestEmbeddedExpiresKeysInRealTime(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, config.RedisConfig{Prefix: "wxbot:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Embedded {
		t.Fatal("no address configured, want the embedded store")
	}
	if err := s.Set(ctx, "k", "v", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Exists(ctx, "k").Result(); n != 1 {
		t.Fatal("key missing right after SET")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		n, err := s.Exists(ctx, "k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("key with a 300ms TTL still present after 3s: embedded store does not expire keys")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOpenRealServer(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, config.RedisConfig{Addr: srv.Addr, Prefix: "wxbot:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Embedded {
		t.Fatal("addr configured, got the embedded store")
	}
	if err := s.Set(ctx, s.Keys.Session("o1"), "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := srv.Client().Get(ctx, "wxbot:{u:o1}:s").Result()
	if err != nil || got != "x" {
		t.Fatalf("key layout: got %q, %v", got, err)
	}
}

func TestOpenFailsClearlyWhenRedisIsDown(t *testing.T) {
	port := redistest.FreePort(t)
	_, err := Open(context.Background(), config.RedisConfig{Addr: "127.0.0.1:" + itoa(port), Prefix: "wxbot:"}, nil)
	if err == nil {
		t.Fatal("want an error connecting to a closed port")
	}
}

func TestOpenCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	ctx := context.Background()
	s, err := Open(ctx, config.RedisConfig{Addrs: cl.Addrs, Cluster: true, Prefix: "wxbot:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Keys of one user share a hash tag, so a multi-key transaction works.
	_, err = s.TxPipelined(ctx, func(p redisPipeliner) error {
		p.Set(ctx, s.Keys.Session("o1"), "a", time.Minute)
		p.HSet(ctx, s.Keys.Prefs("o1"), "lang", "en")
		return nil
	})
	if err != nil {
		t.Fatalf("same-slot transaction on cluster: %v", err)
	}
	_, err = s.TxPipelined(ctx, func(p redisPipeliner) error {
		p.HSet(ctx, s.Keys.PublishIssue(53), "state", "x")
		p.ZAdd(ctx, s.Keys.PublishSchedule(), zmember(53))
		return nil
	})
	if err != nil {
		t.Fatalf("publish keys are not on one slot: %v", err)
	}
}
