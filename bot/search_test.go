package bot

import (
	"context"
	"testing"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/newsletter"
)

// The search index follows the archive: when Replace returns, the new
// index is there, built by the archive's OnChange, before any question.
func TestIndexBuiltOnArchiveChange(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	before := h.bot.chat.Loaded()
	if before == nil || before.Snapshot() != h.arch.Current() {
		t.Fatal("no index for the archive after New")
	}
	more := append(testIssues(), &newsletter.Issue{Number: 55, Sections: []newsletter.Section{{TitleZH: "国内要闻",
		Items: []newsletter.Item{{TitleZH: "量子通信安全标准发布", TitleEN: "Quantum Communication Security Standard Released"}}}}})
	if _, err := h.arch.Replace(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	after := h.bot.chat.Loaded()
	if after == before || after.Snapshot() != h.arch.Current() || after.Items() != before.Items()+1 {
		t.Fatalf("index not rebuilt on the archive change (%d items)", after.Items())
	}
	// The question finds the new archive's items with the index as it is.
	contains(t, h.ask("oIndex", "量子通信", wechatsim.Safe).Content, "No.55 ·")
	if h.bot.chat.Loaded() != after {
		t.Fatal("the question rebuilt the index")
	}
}
