package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/internal/issuetest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/newsletter"
)

// loadWithin runs l.Load and fails the test if it does not return within d
// (a FIFO opened for reading blocks; /dev/zero read whole never ends).
func loadWithin(t *testing.T, l *Loader, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.Load(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		t.Fatalf("Load did not return within %s", d)
	}
}

func problemOf(l *Loader, file string) string {
	for _, p := range l.Problems() {
		if p.File == file {
			return p.Error()
		}
	}
	return ""
}

// Files that are not regular issue files in the folder — a FIFO named
// *.md, a link to /dev/zero, a 600 MB sparse file, a link to a file
// outside the folder — are refused from what Lstat and fstat say, without
// being read or blocking the load; links inside the folder (a Kubernetes
// ConfigMap's ..data links) are followed; the good files load.
func TestLoaderRefusesWhatIsNotAnIssueFile(t *testing.T) {
	srv := redistest.Start(t)
	dir, outside := t.TempDir(), t.TempDir()
	writeExample(t, dir, "a.md", 60)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.md")); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(dir, "big.md"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(600 << 20); err != nil {
		t.Fatal(err)
	}
	big.Close()
	writeExample(t, outside, "secret.md", 70)
	if err := os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(dir, "outside.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../"+filepath.Base(outside)+"/secret.md", filepath.Join(dir, "outside-rel.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere.txt", filepath.Join(dir, "dangling.md")); err != nil {
		t.Fatal(err)
	}
	// As a ConfigMap is mounted: the file a relative link into ..data, and
	// an absolute link that stays inside the folder.
	if err := os.MkdirAll(filepath.Join(dir, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeExample(t, filepath.Join(dir, "..data"), "no61.txt", 61)
	if err := os.Symlink("..data/no61.txt", filepath.Join(dir, "no61.md")); err != nil {
		t.Fatal(err)
	}
	writeExample(t, filepath.Join(dir, "..data"), "no62.txt", 62)
	if err := os.Symlink(filepath.Join(dir, "..data", "no62.txt"), filepath.Join(dir, "no62.md")); err != nil {
		t.Fatal(err)
	}

	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	loadWithin(t, l, 5*time.Second)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("loading allocated %d MB: a refused file was read", grown>>20)
	}
	if got := issuetest.Numbers(a.All()); got != "62 61 60" {
		t.Fatalf("loaded %q, want the folder's own issues 62 61 60", got)
	}
	for file, want := range map[string]string{
		"fifo.md":        "named pipe",
		"zero.md":        "outside the inbox folder",
		"big.md":         "600.0 MB, larger than the 4.0 MB",
		"outside.md":     "outside the inbox folder",
		"outside-rel.md": "outside the inbox folder",
		"dangling.md":    "a symbolic link to nothing",
	} {
		got := problemOf(l, filepath.Join(dir, file))
		if !strings.Contains(got, want) || !strings.HasPrefix(got, filepath.Join(dir, file)+": not read: ") {
			t.Errorf("%s: problem %q, want one naming the file and saying %q", file, got, want)
		}
	}
	for _, pr := range l.Problems() {
		if !errors.Is(pr.Err, ErrRefused) {
			t.Errorf("%s: not marked as refused: %v", pr.File, pr.Err)
		}
	}
	// A later good file still loads; the refused ones stay refused.
	writeExample(t, dir, "b.md", 63)
	loadWithin(t, l, 5*time.Second)
	if got := issuetest.Numbers(a.All()); got != "63 62 61 60" {
		t.Fatalf("after a new file: %q", got)
	}
	if n := len(l.Problems()); n != 6 {
		t.Fatalf("problems %v", l.Problems())
	}
}

// A file taken once and then replaced by a FIFO is refused, and its issue
// leaves the archive.
func TestLoaderFileReplacedByFIFO(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeExample(t, dir, "a.md", 60)
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse})
	loadWithin(t, l, 5*time.Second)
	if err := os.Remove(filepath.Join(dir, "a.md")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "a.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	loadWithin(t, l, 5*time.Second)
	if got := problemOf(l, filepath.Join(dir, "a.md")); !strings.Contains(got, "named pipe") {
		t.Fatalf("problem %q", got)
	}
	if a.Current().Len() != 0 {
		t.Fatal("the issue of a file now a FIFO is still loaded")
	}
}

// One file whose parse does not end is reported after ParseTimeout and
// the load goes on: the other files load and Load returns.
func TestLoaderParseTimeout(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeExample(t, dir, "a.md", 60)
	writeExample(t, dir, "c.md", 61)
	if err := os.WriteFile(filepath.Join(dir, "b-slow.md"), []byte("SLOW"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var mu sync.Mutex
	parses := 0
	parse := func(name string, data []byte) (*newsletter.Issue, []newsletter.Warning, error) {
		if bytes.Equal(data, []byte("SLOW")) {
			mu.Lock()
			parses++
			mu.Unlock()
			<-release
		}
		return newsletter.Parse(name, data)
	}
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: parse, ParseTimeout: 300 * time.Millisecond})
	start := time.Now()
	loadWithin(t, l, 5*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("load took %s with a 300ms parse timeout", took)
	}
	if got := issuetest.Numbers(a.All()); got != "61 60" {
		t.Fatalf("loaded %q", got)
	}
	if got := problemOf(l, filepath.Join(dir, "b-slow.md")); !strings.Contains(got, "parsing took longer than 300ms") {
		t.Fatalf("problem %q", got)
	}
	// The same content is not parsed again at the next load.
	loadWithin(t, l, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if parses != 1 {
		t.Fatalf("the slow file was parsed %d times", parses)
	}
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// An issue written in two parts 1.5 s apart is never loaded cut short:
// the loader waits until the file has not changed for Settle (2 s).
func TestLoaderWaitsForFileToSettle(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	full, part := issuetest.HalfWritten(t, "newsletter-no54.md")
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse, Debounce: 50 * time.Millisecond, Settle: 2 * time.Second})
	var mu sync.Mutex
	var hashes []string
	l.consumers = append(l.consumers, ConsumerFunc(func(_ context.Context, results []File) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range results {
			if r.Issue != nil {
				hashes = append(hashes, r.Hash)
			}
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // watching

	issuetest.WriteInTwoParts(t, filepath.Join(dir, "no54.md"), full, part, 1500*time.Millisecond)
	written := time.Now()
	issuetest.WaitFor(t, func() bool { return a.Current().Len() == 1 })
	if took := time.Since(written); took < 1500*time.Millisecond {
		t.Errorf("taken %s after the last write, before it settled", took)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range hashes {
		if h != hashOf(full) {
			t.Fatalf("a load took the file cut short (%d of %d bytes)", len(part), len(full))
		}
	}
	if len(hashes) == 0 {
		t.Fatal("the full issue was never reported")
	}
}

// A file moved into the folder (written elsewhere, or under a hidden
// temporary name, then renamed) is complete: it is taken without waiting
// to settle. The temporary name itself is never read.
func TestLoaderTakesRenamedFileAtOnce(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse, Debounce: 50 * time.Millisecond, Settle: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond)

	for _, tmp := range []string{".no60.md.tmp", "no60.md~", "no60.md.part", "~$no60.md", "#no60.md#"} {
		writeExample(t, dir, tmp, 60)
	}
	time.Sleep(300 * time.Millisecond)
	if n := a.Current().Len(); n != 0 || len(l.Problems()) != 0 {
		t.Fatalf("temporary names were read: %d issues, problems %v", n, l.Problems())
	}
	start := time.Now()
	if err := os.Rename(filepath.Join(dir, ".no60.md.tmp"), filepath.Join(dir, "no60.md")); err != nil {
		t.Fatal(err)
	}
	issuetest.WaitFor(t, func() bool { return a.Current().Len() == 1 })
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a renamed file took %s (settle is 10s)", took)
	}
}

// A FIFO swapped in between the look and the open (the name checked as a
// regular file a moment before) does not block the open: it is opened
// non-blocking and refused from fstat.
func TestReadDoesNotBlockOnFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "a.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	l := New(Options{Archive: archive.New(archive.Options{Keys: keys}), Dir: dir, Parse: newsletter.Parse, Settle: 2 * time.Second})
	done := make(chan error, 1)
	go func() {
		_, _, err := l.read(root, "a.md")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("read a FIFO: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

// A ConfigMap mounted as the inbox: each file a link through ..data, which
// Kubernetes swaps to a new folder to update them all at once. The swap
// is noticed and the new content loaded.
func TestLoaderFollowsConfigMapSwap(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	for _, d := range []string{"..2026_a", "..2026_b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeExample(t, filepath.Join(dir, "..2026_a"), "no.md", 60)
	writeExample(t, filepath.Join(dir, "..2026_b"), "no.md", 61)
	if err := os.Symlink("..2026_a", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/no.md", filepath.Join(dir, "no.md")); err != nil {
		t.Fatal(err)
	}
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse, Debounce: 50 * time.Millisecond, Settle: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	issuetest.WaitFor(t, func() bool { return issuetest.Numbers(a.All()) == "60" })
	if err := os.Symlink("..2026_b", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	issuetest.WaitFor(t, func() bool { return issuetest.Numbers(a.All()) == "61" })
}

// Read, for a file an editor picks, makes the load's checks: it reads a
// good file and a link inside the folder, and refuses a FIFO at once, a
// link out of the folder, a file too large and a name that is not an
// issue file's in the folder.
func TestReadOneFileChecksAsALoad(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	writeExample(t, dir, "a.md", 60)
	want, _ := os.ReadFile(filepath.Join(dir, "a.md"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeExample(t, outside, "secret.md", 61)
	for link, target := range map[string]string{"out.md": filepath.Join(outside, "secret.md"), "in.md": "a.md"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := New(Options{Dir: dir, MaxSize: 1024 + int64(len(want))})
	if err := os.WriteFile(filepath.Join(dir, "big.md"), bytes.Repeat([]byte("x"), 2048+len(want)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.md", "in.md"} {
		if got, err := l.Read(name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Read(%s) = %d bytes, %v", name, len(got), err)
		}
	}
	for _, name := range []string{"fifo.md", "out.md", "big.md", "notes.txt", "../a.md", "missing.md"} {
		done := make(chan error, 1)
		go func() { _, err := l.Read(name); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("Read(%s): no error", name)
			} else if name != "missing.md" && !errors.Is(err, ErrRefused) {
				t.Errorf("Read(%s) = %v, want ErrRefused", name, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("Read(%s) blocked", name)
		}
	}
	names, err := l.Names()
	if err != nil || strings.Join(names, " ") != "a.md big.md fifo.md in.md out.md" {
		t.Fatalf("Names = %v, %v", names, err)
	}
}
