package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/issuetest"
	"github.com/lifang/wxbot/internal/logtest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/store"
)

var keys = store.Keys{Prefix: "wxbot:"}

func TestLoaderExamples(t *testing.T) {
	srv := redistest.Start(t)
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, FS: examples.FS, Parse: newsletter.Parse})
	if err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := l.Problems(); len(p) != 0 {
		t.Fatalf("examples do not parse: %v", p)
	}
	if got := issuetest.Numbers(a.All()); got != "55 54" {
		t.Fatalf("examples loaded as %s", got)
	}
}

// writeExample copies an example issue into dir under name, with its issue
// number changed to n.
func writeExample(t *testing.T, dir, name string, n int) {
	t.Helper()
	data, err := fs.ReadFile(examples.FS, "newsletter-no54.md")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("No.54"), []byte("No."+strconv.Itoa(n)), -1)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoaderWatchesInbox(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeExample(t, dir, "a.md", 60)
	if err := os.WriteFile(filepath.Join(dir, "broken.md"), []byte("这不是一期周报\n\nnot an issue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeExample(t, dir, "z-duplicate.md", 60)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}

	var logs logtest.Buffer
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse, Log: slog.New(slog.NewTextHandler(&logs, nil)), Debounce: 50 * time.Millisecond, Settle: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()

	issuetest.WaitFor(t, func() bool { return a.Current().Len() == 1 })
	probs := l.Problems()
	if len(probs) != 2 {
		t.Fatalf("problems = %v; want broken.md and the duplicate", probs)
	}
	if !strings.HasPrefix(probs[0].Error(), filepath.Join(dir, "broken.md")+":") {
		t.Errorf("problem not located at the file: %v", probs[0])
	}
	if !strings.Contains(probs[1].Error(), "already loaded from "+filepath.Join(dir, "a.md")) {
		t.Errorf("duplicate not explained: %v", probs[1])
	}
	if !strings.Contains(logs.String(), "broken.md") {
		t.Errorf("skipped file not logged:\n%s", logs.String())
	}

	// A new file arrives, then an old one is removed.
	writeExample(t, dir, "b.md", 61)
	issuetest.WaitFor(t, func() bool { return issuetest.Numbers(a.All()) == "61 60" })
	if err := os.Remove(filepath.Join(dir, "a.md")); err != nil {
		t.Fatal(err)
	}
	// The duplicate of No.60 now loads in a.md's place.
	issuetest.WaitFor(t, func() bool { return issuetest.Numbers(a.All()) == "61 60" && len(l.Problems()) == 1 })
	if err := os.Remove(filepath.Join(dir, "z-duplicate.md")); err != nil {
		t.Fatal(err)
	}
	issuetest.WaitFor(t, func() bool { return issuetest.Numbers(a.All()) == "61" })
}

// The consumers get every file of each load: content hash and issue, or the
// located error.
func TestLoaderOffersEachFile(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeExample(t, dir, "a.md", 60)
	broken := []byte("这不是一期周报\n\nnot an issue\n")
	if err := os.WriteFile(filepath.Join(dir, "broken.md"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse, Settle: 0 /* the files were written just now */})
	var got []File
	l.consumers = append(l.consumers, ConsumerFunc(func(_ context.Context, results []File) { got = results }))
	if err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("results %+v", got)
	}
	ok, bad := got[0], got[1]
	data, _ := os.ReadFile(filepath.Join(dir, "a.md"))
	sum := sha256.Sum256(data)
	if ok.File != filepath.Join(dir, "a.md") || ok.Issue == nil || ok.Issue.Number != 60 || ok.Err != nil ||
		ok.Hash != hex.EncodeToString(sum[:]) || string(ok.Data) != string(data) {
		t.Fatalf("valid file result %+v", ok)
	}
	if bad.Issue != nil || bad.Err == nil || !strings.HasPrefix(FileError{File: bad.File, Err: bad.Err}.Error(), filepath.Join(dir, "broken.md")+":") {
		t.Fatalf("broken file result %+v", bad)
	}
}

// memArchive keeps what the loader hands it, in memory.
type memArchive struct {
	calls  []string // "offer" and "replace", in order, shared with the consumer
	issues []*newsletter.Issue
}

func (m *memArchive) Replace(_ context.Context, issues []*newsletter.Issue) (bool, error) {
	m.calls = append(m.calls, "replace")
	m.issues = issues
	return true, nil
}

func (m *memArchive) Missing() bool { return false }

// Each file is read and parsed once: the consumer and then the archive get
// the same parsed issue, and a load with nothing changed parses nothing.
func TestEachFileParsedOnceForEveryConsumer(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir, "a.md", 60)
	writeExample(t, dir, "b.md", 61)
	if err := os.WriteFile(filepath.Join(dir, "broken.md"), []byte("not an issue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	parses := map[string]int{}
	parse := func(name string, data []byte) (*newsletter.Issue, []newsletter.Warning, error) {
		parses[filepath.Base(name)]++
		return newsletter.Parse(name, data)
	}
	arch := &memArchive{}
	var offered []File
	consumer := ConsumerFunc(func(_ context.Context, files []File) {
		arch.calls = append(arch.calls, "offer")
		offered = files
	})
	l := New(Options{Dir: dir, Parse: parse, Archive: arch, Consumers: []Consumer{consumer}})
	for range 2 {
		if err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if parses["a.md"] != 1 || parses["b.md"] != 1 || parses["broken.md"] != 1 || len(parses) != 3 {
		t.Fatalf("parses per file over two loads: %v, want one each", parses)
	}
	if got := strings.Join(arch.calls, " "); got != "offer replace offer replace" {
		t.Fatalf("calls %q: the consumer must see each load before the archive", got)
	}
	if len(offered) != 3 || len(arch.issues) != 2 {
		t.Fatalf("offered %d files, archived %d issues", len(offered), len(arch.issues))
	}
	for i, f := range offered[:2] {
		data, _ := os.ReadFile(f.File)
		sum := sha256.Sum256(data)
		if f.Issue == nil || f.Issue != arch.issues[i] || string(f.Data) != string(data) || f.Hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("file %s: issue %p (archive %p), data/hash as read: %v", f.File, f.Issue, arch.issues[i], string(f.Data) == string(data))
		}
	}
	if bad := offered[2]; bad.Issue != nil || bad.Err == nil || !strings.HasSuffix(bad.File, "broken.md") {
		t.Fatalf("broken file offered as %+v", bad)
	}
}
