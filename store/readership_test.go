package store

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/redistest"
)

func exerciseReadershipDay(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	rdb.HSet(ctx, k.ReadershipArticles("2026-12-01"), "old", "x")
	rdb.HSet(ctx, k.ReadershipTotals(), "m0", "kept")
	d := ReadershipDay{
		Date:     "2026-12-01",
		Articles: map[string][]byte{"m1": []byte(`{"a":1}`)},
		Users:    map[string][]byte{"read": []byte("[]"), "cumulate": []byte("null")},
		Totals:   map[string][]byte{"m1": []byte(`{"t":1}`)},
	}
	if err := SaveReadershipDay(ctx, rdb, k, d); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGetAll(ctx, k.ReadershipArticles("2026-12-01")).Val(); len(got) != 1 || got["m1"] != `{"a":1}` {
		t.Fatalf("the day's articles %v: want only the new figures", got)
	}
	if got := rdb.HGetAll(ctx, k.ReadershipUsers("2026-12-01")).Val(); len(got) != 2 || got["read"] != "[]" {
		t.Fatalf("account figures %v", got)
	}
	if got := rdb.HGetAll(ctx, k.ReadershipTotals()).Val(); got["m0"] != "kept" || got["m1"] != `{"t":1}` {
		t.Fatalf("totals %v: other articles' totals must stay", got)
	}
	if !rdb.SIsMember(ctx, k.ReadershipDays(), "2026-12-01").Val() {
		t.Fatal("the day is not marked collected")
	}
}

func TestSaveReadershipDay(t *testing.T) {
	exerciseReadershipDay(t, redistest.Start(t).Client())
}

// On Cluster the day's MULTI stays on the {readership} slot.
func TestSaveReadershipDayOnCluster(t *testing.T) {
	exerciseReadershipDay(t, redistest.StartCluster(t).Client(t))
}
