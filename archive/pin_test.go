package archive

import (
	"context"
	"testing"

	"github.com/lifang/wxbot/internal/issuetest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/newsletter"
)

// An issue broadcast from outside the inbox stays in the archive through
// the inbox's Replace; an inbox file with the same number wins over it.
func TestPinnedIssueSurvivesReplace(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := New(Options{Redis: srv.Client(), Keys: keys})
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "inbox")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Pin(ctx, issue(70, "published from elsewhere")); err != nil {
		t.Fatal(err)
	}
	if got := issuetest.Numbers(a.All()); got != "70 53" {
		t.Fatalf("after pin: %s", got)
	}
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "inbox"), issue(54, "new")}); err != nil {
		t.Fatal(err)
	}
	if got := issuetest.Numbers(a.All()); got != "70 54 53" {
		t.Fatalf("after the inbox changed: %s", got)
	}
	// Pinning a number the inbox holds does not override the inbox's copy.
	if err := a.Pin(ctx, issue(54, "pinned copy")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "inbox"), issue(54, "new")}); err != nil {
		t.Fatal(err)
	}
	if iss, _ := a.Get(54); iss.Sections[0].Items[0].TitleZH != "new" {
		t.Fatalf("No.54 = %q, want the inbox's", iss.Sections[0].Items[0].TitleZH)
	}
	// Another replica sees the pinned issue too.
	b := New(Options{Redis: srv.Client(), Keys: keys})
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get(70); !ok {
		t.Fatal("pinned issue missing on another replica")
	}
	if err := a.Pin(ctx, &newsletter.Issue{}); err == nil {
		t.Fatal("pinning an issue without a number: want an error")
	}
}

// After Redis lost the archive (FLUSHALL), the loader's next write brings
// back not only the inbox's issues but the issues pinned by a broadcast
// from outside the inbox and the published article URLs, which exist
// nowhere else: another replica sees them again.
func TestReplaceAfterWipeRestoresPinnedAndURLs(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := New(Options{Redis: srv.Client(), Keys: keys})
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "inbox")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Pin(ctx, issue(70, "published from elsewhere")); err != nil {
		t.Fatal(err)
	}
	urls := []string{"https://mp.weixin.qq.com/s/abc"}
	if err := a.SetURLs(ctx, 53, urls); err != nil {
		t.Fatal(err)
	}
	if err := srv.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "inbox")}); err != nil {
		t.Fatal(err)
	}
	b := New(Options{Redis: srv.Client(), Keys: keys})
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := issuetest.Numbers(b.All()); got != "70 53" {
		t.Fatalf("after the wipe another replica sees %q, want the pinned No.70 back", got)
	}
	if got := b.URLs(53); len(got) != 1 || got[0] != urls[0] {
		t.Fatalf("URLs of No.53 after the wipe: %v", got)
	}
	// An inbox change later does not bring back a pin removed meanwhile by hand.
	if err := srv.Client().HDel(ctx, keys.ArchivePinned(), "70").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "inbox"), issue(54, "new")}); err != nil {
		t.Fatal(err)
	}
	if got := issuetest.Numbers(a.All()); got != "54 53" {
		t.Fatalf("after the pin was removed: %q", got)
	}
}
