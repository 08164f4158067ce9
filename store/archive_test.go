package store

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/redistest"
)

// exerciseArchive runs every archive operation in order and checks what
// each leaves, on a single server or a Cluster alike.
func exerciseArchive(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	version := func() int64 { t.Helper(); v, _ := rdb.Get(ctx, k.ArchiveVersion()).Int64(); return v }

	got, err := ReadArchive(ctx, rdb, k)
	if err != nil || got.Version != 0 || len(got.Issues) != 0 {
		t.Fatalf("an empty archive reads %+v, %v", got, err)
	}
	// A replace writes the issues and, after a loss, the remembered rest
	// only where nothing is there.
	rdb.HSet(ctx, k.ArchiveWithheld(), "2", "retracted")
	rdb.HSet(ctx, k.ArchiveIssues(), "9", "stale")
	w := ArchiveWrite{
		Issues:   map[string]string{"1": `{"number":1}`, "2": `{"number":2}`},
		Withheld: map[int]string{2: "unsent", 3: "unsent"},
		Pinned:   map[string]string{"5": `{"number":5}`},
		URLs:     map[string]string{"1": `["u1"]`},
	}
	if err := ReplaceArchiveIssues(ctx, rdb, k, w); err != nil {
		t.Fatal(err)
	}
	got, err = ReadArchive(ctx, rdb, k)
	if err != nil || got.Version != 1 || len(got.Issues) != 2 || got.Issues["9"] != "" || got.URLs["1"] != `["u1"]` {
		t.Fatalf("after the replace: %+v, %v", got, err)
	}
	if got.Withheld["2"] != "retracted" || got.Withheld["3"] != "unsent" {
		t.Fatalf("the gate after the replace: %v (a remembered reason replaced one there?)", got.Withheld)
	}
	if v := rdb.HGet(ctx, k.ArchivePinned(), "5").Val(); v != `{"number":5}` {
		t.Fatalf("pinned 5 %q", v)
	}
	if err := ReplaceArchiveIssues(ctx, rdb, k, ArchiveWrite{}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.HLen(ctx, k.ArchiveIssues()).Val(); n != 0 || version() != 2 {
		t.Fatalf("an empty replace left %d issues at version %d", n, version())
	}

	// Withhold and release move the gate and the version; a release of an
	// issue not withheld changes nothing.
	if err := WithholdIssue(ctx, rdb, k, 7, "unsent"); err != nil {
		t.Fatal(err)
	}
	if rdb.HGet(ctx, k.ArchiveWithheld(), "7").Val() != "unsent" || version() != 3 {
		t.Fatalf("withhold: gate %v, version %d", rdb.HGetAll(ctx, k.ArchiveWithheld()).Val(), version())
	}
	if err := ReleaseIssue(ctx, rdb, k, 7); err != nil {
		t.Fatal(err)
	}
	if rdb.HExists(ctx, k.ArchiveWithheld(), "7").Val() || version() != 4 {
		t.Fatalf("release: version %d", version())
	}
	if err := ReleaseIssue(ctx, rdb, k, 7); err != nil || version() != 4 {
		t.Fatalf("a second release bumped the version to %d (%v)", version(), err)
	}

	// A pin adds the issue unless one with its number is there.
	if added, err := PinIssue(ctx, rdb, k, 8, `{"number":8}`); err != nil || !added || version() != 5 {
		t.Fatalf("pin 8: added %v, %v, version %d", added, err, version())
	}
	rdb.HSet(ctx, k.ArchiveIssues(), "6", "inbox")
	if added, err := PinIssue(ctx, rdb, k, 6, `{"number":6}`); err != nil || added || version() != 5 {
		t.Fatalf("pin over an inbox issue: added %v, %v, version %d", added, err, version())
	}
	if rdb.HGet(ctx, k.ArchiveIssues(), "6").Val() != "inbox" || rdb.HGet(ctx, k.ArchivePinned(), "6").Val() != `{"number":6}` {
		t.Fatal("a pin replaced the inbox's issue, or was not recorded as pinned")
	}

	// URLs are set, then removed by "".
	if err := SetIssueURLs(ctx, rdb, k, 8, `["a"]`); err != nil || rdb.HGet(ctx, k.ArchiveURLs(), "8").Val() != `["a"]` || version() != 6 {
		t.Fatalf("set urls: %v, version %d", err, version())
	}
	if err := SetIssueURLs(ctx, rdb, k, 8, ""); err != nil || rdb.HExists(ctx, k.ArchiveURLs(), "8").Val() || version() != 7 {
		t.Fatalf("remove urls: %v, version %d", err, version())
	}
}

func TestArchiveOperations(t *testing.T) {
	exerciseArchive(t, redistest.Start(t).Client())
}

// On Cluster every MULTI above stays on the {archive} slot.
func TestArchiveOperationsOnCluster(t *testing.T) {
	exerciseArchive(t, redistest.StartCluster(t).Client(t))
}
