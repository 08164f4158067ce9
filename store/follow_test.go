package store

import (
	"context"
	"testing"

	"github.com/lifang/wxbot/internal/redistest"
)

// A scene gains a follower once, on their first subscribe through it; a
// SCAN or a repeated subscribe only counts as scanned.
func TestRecordFollowCountsAGainOnce(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	steps := []struct {
		openid, scene string
		subscribe     bool
		wasFollowing  bool
	}{
		{"o1", "spring", true, false},
		{"o1", "spring", true, true}, // WeChat's retry on another replica
		{"o2", "spring", false, false},
		{"o3", "", true, false},
	}
	for _, s := range steps {
		was, err := RecordFollow(ctx, rdb, k, s.openid, s.scene, s.subscribe)
		if err != nil || was != s.wasFollowing {
			t.Fatalf("%+v: was following %v, %v", s, was, err)
		}
	}
	if got := rdb.SMembers(ctx, k.QRGained("spring")).Val(); len(got) != 1 || got[0] != "o1" {
		t.Fatalf("gained %v, want [o1]", got)
	}
	if n := rdb.SCard(ctx, k.QRScanned("spring")).Val(); n != 2 {
		t.Fatalf("scanned %d, want 2", n)
	}
	if n := rdb.SCard(ctx, k.QRFollowing()).Val(); n != 3 {
		t.Fatalf("following %d, want 3", n)
	}
	if got := rdb.SMembers(ctx, k.QRScenes()).Val(); len(got) != 1 || got[0] != "spring" {
		t.Fatalf("scenes %v", got)
	}
}

// A campaign is stored under its scene and lists the scene; a new one for
// the scene replaces the record, and the scene stays listed once.
func TestRecordCampaign(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	for _, c := range []struct{ scene, json string }{
		{"expo", `{"ticket":"t1"}`},
		{"card", `{"ticket":"t2"}`},
		{"expo", `{"ticket":"t3"}`},
	} {
		if err := RecordCampaign(ctx, rdb, k, c.scene, []byte(c.json)); err != nil {
			t.Fatalf("%s: %v", c.scene, err)
		}
	}
	got := rdb.HGetAll(ctx, k.QRCampaigns()).Val()
	if len(got) != 2 || got["expo"] != `{"ticket":"t3"}` || got["card"] != `{"ticket":"t2"}` {
		t.Fatalf("campaigns %v, want expo → t3 and card → t2", got)
	}
	if n := rdb.SCard(ctx, k.QRScenes()).Val(); n != 2 || !rdb.SIsMember(ctx, k.QRScenes(), "expo").Val() {
		t.Fatalf("scenes %v, want [card expo]", rdb.SMembers(ctx, k.QRScenes()).Val())
	}
}

// A batch moves the oldest items, at most max, and none while an
// unfinished batch is still being processed.
func TestTakeBatch(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	for _, v := range []string{"a", "b", "c"} {
		rdb.LPush(ctx, k.TagQueue(), v)
	}
	if n, err := TakeBatch(ctx, rdb, k.TagQueue(), k.TagProcessing(), 2); err != nil || n != 2 {
		t.Fatalf("took %d, %v", n, err)
	}
	if got := rdb.LRange(ctx, k.TagProcessing(), 0, -1).Val(); len(got) != 2 || got[0] != "b" || got[1] != "a" {
		t.Fatalf("batch %v, want [b a] (oldest last)", got)
	}
	if n, _ := TakeBatch(ctx, rdb, k.TagQueue(), k.TagProcessing(), 2); n != 0 {
		t.Fatalf("took %d while a batch was unfinished", n)
	}
	rdb.Del(ctx, k.TagProcessing())
	if n, _ := TakeBatch(ctx, rdb, k.TagQueue(), k.TagProcessing(), 2); n != 1 {
		t.Fatalf("took %d of the one left", n)
	}
}

// All three run on Cluster: their keys share a hash tag ({qr}, {tags}).
func TestFollowCampaignAndBatchOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	rdb := cl.Client(t)
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	if _, err := RecordFollow(ctx, rdb, k, "o1", "spring", true); err != nil {
		t.Fatal(err)
	}
	if err := RecordCampaign(ctx, rdb, k, "spring", []byte(`{"scene":"spring"}`)); err != nil {
		t.Fatal(err)
	}
	if v := rdb.HGet(ctx, k.QRCampaigns(), "spring").Val(); v != `{"scene":"spring"}` {
		t.Fatalf("campaign on cluster %q", v)
	}
	rdb.LPush(ctx, k.TagQueue(), "a")
	if n, err := TakeBatch(ctx, rdb, k.TagQueue(), k.TagProcessing(), 5); err != nil || n != 1 {
		t.Fatalf("took %d, %v", n, err)
	}
}
