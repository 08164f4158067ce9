package chat

import (
	"log/slog"
	"time"

	"github.com/lifang/wxbot/archive"
)

// snapshot returns the current archive and its search index. The index is
// built when the archive changes (New registers indexFor with the archive's
// OnChange), not on the request path: a question that arrives while the
// new index is still being built is answered from the previous one, and an
// index that is behind for any other reason (an archive that does not report
// its changes) is rebuilt in the background. Only the very first question,
// before any index exists, waits for one.
func (c *Chat) snapshot() (*archive.Snapshot, *Index) {
	snap := c.arch.Current()
	ix := c.index.Load()
	switch {
	case ix != nil && ix.snap == snap:
	case ix == nil:
		ix = c.indexFor(snap)
	default:
		if c.indexing.CompareAndSwap(false, true) {
			c.background.Add(1)
			go func() {
				defer c.background.Done()
				defer c.indexing.Store(false)
				c.indexFor(c.arch.Current())
			}()
		}
	}
	return snap, ix
}

// Loaded is the search index in use now (nil before the first is built).
func (c *Chat) Loaded() *Index { return c.index.Load() }

// Snapshot is the archive snapshot the index was built from.
func (ix *Index) Snapshot() *archive.Snapshot { return ix.snap }

// Items is how many items the index holds.
func (ix *Index) Items() int { return len(ix.docs) }

// indexFor makes the search index of snap the current one, building it
// unless that is done already. Builds are serialised; a snapshot that is no
// longer the archive's current one by then is skipped (its successor's
// build follows).
func (c *Chat) indexFor(snap *archive.Snapshot) *Index {
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	if ix := c.index.Load(); ix != nil && (ix.snap == snap || snap != c.arch.Current()) {
		return ix
	}
	start := time.Now()
	ix := buildIndex(snap)
	c.index.Store(ix)
	c.log.Debug("search: index built", slog.Int("issues", snap.Len()), slog.Int("items", len(ix.docs)),
		slog.Duration("took", time.Since(start)))
	return ix
}
