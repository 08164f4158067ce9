package store

import (
	"context"
	"strconv"
	"testing"

	"github.com/lifang/wxbot/internal/redistest"
)

// A channel keeps its newest failures, newest first, at most keep.
func TestRecordNoticeFailureKeepsTheNewest(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	for i := 1; i <= 5; i++ {
		if err := RecordNoticeFailure(ctx, rdb, k, "smtp", []byte(strconv.Itoa(i)), 3); err != nil {
			t.Fatal(err)
		}
	}
	if got := rdb.LRange(ctx, k.NotifyFailures("smtp"), 0, -1).Val(); len(got) != 3 || got[0] != "5" || got[2] != "3" {
		t.Fatalf("kept %v, want [5 4 3]", got)
	}
	if n := rdb.Exists(ctx, k.NotifyFailures("wecom")).Val(); n != 0 {
		t.Fatal("another channel's list was written")
	}
}
