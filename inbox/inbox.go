// Package inbox owns the folder of issue files (newsletter.inbox): it reads
// each file once, safely (no FIFOs, devices, oversized files or links out
// of the folder; a file still being written waits until it settles),
// parses it once, and hands every file's result — content, hash, and the
// parsed issue or the located error — to the consumers wired in cmd: the
// publisher's Offer first (it withholds what its review gate takes), then
// the archive's Replace with the valid issues.
package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lifang/wxbot/newsletter"
)

// ParseFunc parses one issue file; newsletter.Parse is one. name is used in
// error messages, which locate the problem (FILE:LINE: …).
type ParseFunc func(name string, data []byte) (*newsletter.Issue, []newsletter.Warning, error)

// FileError is an issue file that could not be loaded.
type FileError struct {
	File string
	Err  error
}

// Error is the parser's located message (FILE:LINE: …), or FILE: message.
func (e FileError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, e.File+":") {
		return msg
	}
	return e.File + ": " + msg
}

// File is what one load found in one issue file: its content and its
// hash, and either the parsed issue or the located error. Every consumer
// receives every file's result after each load, so none reads or parses
// a file again.
type File struct {
	// File is the file as shown in messages (the path on disk for an inbox).
	File string
	// Hash is the hex SHA-256 of Data.
	Hash  string
	Data  []byte
	Issue *newsletter.Issue // nil when Err is set
	Err   error
	// Settling marks a new or changed file not taken yet (still being
	// written, see Options.Settle): the rest of the result is the version
	// taken before, or empty for a file never taken.
	Settling bool
}

// Consumer receives each load's files in file name order (the publisher's
// Offer). It runs on the loader's goroutine: it should hand long work
// elsewhere.
type Consumer interface {
	Offer(ctx context.Context, files []File)
}

// ConsumerFunc is a function as a Consumer.
type ConsumerFunc func(ctx context.Context, files []File)

// Offer calls f.
func (f ConsumerFunc) Offer(ctx context.Context, files []File) { f(ctx, files) }

// Archive receives the valid issues of each load (archive.Archive).
type Archive interface {
	Replace(ctx context.Context, issues []*newsletter.Issue) (changed bool, err error)
	// Missing reports that the archive's last refresh found nothing in
	// Redis (restarted empty): the loader writes the issues again at once.
	Missing() bool
}

// Options configures a Loader. Zero values of the durations and sizes
// other than Settle mean the defaults noted beside them.
type Options struct {
	// Dir is the folder on disk, watched for changes. Without it, FS is
	// loaded once and not watched (the examples built into the binary).
	Dir string
	FS  fs.FS
	// Parse parses one file (newsletter.Parse).
	Parse ParseFunc
	// Archive receives the valid issues after the consumers saw them.
	Archive Archive
	// Consumers receive every file's result after each load, in order,
	// before the archive is written (the publisher withholds the new
	// issues its review gate takes before they reach the chat).
	Consumers []Consumer
	Log       *slog.Logger

	// Settle is how long a new or changed file must stay unchanged (size
	// and modification time) before it is taken, so a file still being
	// written is never loaded cut short (newsletter.inbox_settle). A file
	// that arrived by rename (cp issue.md inbox/.issue.md.tmp && mv …) is
	// complete and taken at once. 0 takes every file as soon as it is seen.
	Settle time.Duration
	// Debounce is how long the folder must be quiet before a reload, so an
	// editor's save (several events) or a copied batch loads once (300 ms).
	Debounce time.Duration
	// Resync is how often the loaded issues are written to Redis again when
	// nothing changed on disk, which restores them after Redis lost its
	// data (30 s).
	Resync time.Duration
	// ParseTimeout bounds the parse of one file: a file that takes longer
	// is reported and skipped (until its content changes), so one slow
	// file cannot hold up the start or the other files (5 s; negative: no
	// bound).
	ParseTimeout time.Duration
	// MaxSize is the largest file read; a larger one is refused from its
	// size alone, without reading it (newsletter.MaxFileSize).
	MaxSize int64
}

// Loader keeps the archive in step with a folder of issue files (*.md,
// *.docx): everything is parsed at start, and again shortly after any file
// changes.
type Loader struct {
	arch      Archive
	consumers []Consumer
	fsys      fs.FS
	dir       string // the folder on disk, "" for an embedded FS (not watched)
	parse     ParseFunc
	log       *slog.Logger

	debounce, resyncEvery, settle, parseTimeout time.Duration
	maxSizeOpt                                  int64

	mu       sync.Mutex
	problems []FileError
	loaded   []*newsletter.Issue
	synced   bool
	// parsed remembers each file's last parse by content hash, so a reload
	// after an unrelated change (or Watch's first look) neither parses nor
	// logs an unchanged file again.
	parsed map[string]parsedFile
	// seen is when each file not taken yet (still settling) was first
	// seen as it is now; renamed marks the files whose last event was a
	// create with no write after it (moved into the folder, complete).
	seen    map[string]observed
	renamed map[string]bool
	// settleAt is when the first file still settling may be taken: Watch
	// loads again then.
	settleAt time.Time
	// loading serialises Load (serve's first load, Watch's reloads).
	loading sync.Mutex
}

type parsedFile struct {
	hash  string
	stamp stamp
	data  []byte
	iss   *newsletter.Issue
	err   error
}

// stamp is what tells a file changed without reading it.
type stamp struct {
	size  int64
	mtime time.Time
}

type observed struct {
	stamp stamp
	at    time.Time
}

// New builds a Loader for opts.Dir (or opts.FS).
func New(opts Options) *Loader {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fsys := opts.FS
	if opts.Dir != "" {
		fsys = os.DirFS(opts.Dir)
	}
	parse := opts.Parse
	if parse == nil {
		parse = newsletter.Parse
	}
	l := &Loader{arch: opts.Archive, consumers: opts.Consumers, fsys: fsys, dir: opts.Dir, parse: parse, log: log,
		debounce: opts.Debounce, resyncEvery: opts.Resync, settle: opts.Settle,
		parseTimeout: opts.ParseTimeout, maxSizeOpt: opts.MaxSize,
		seen: map[string]observed{}, renamed: map[string]bool{}}
	if l.debounce <= 0 {
		l.debounce = 300 * time.Millisecond
	}
	if l.resyncEvery <= 0 {
		l.resyncEvery = 30 * time.Second
	}
	switch {
	case l.parseTimeout == 0:
		l.parseTimeout = 5 * time.Second
	case l.parseTimeout < 0:
		l.parseTimeout = 0
	}
	return l
}

// Problems lists the files skipped at the last load, with located errors.
func (l *Loader) Problems() []FileError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]FileError(nil), l.problems...)
}

// Load reads and parses every new or changed issue file once, offers every
// file's result to the consumers, then replaces the archive with the valid
// issues. Invalid files are skipped and logged; a number used by two files
// keeps the first by name. The error is only about Redis.
func (l *Loader) Load(ctx context.Context) error {
	l.loading.Lock()
	defer l.loading.Unlock()
	issues, problems, results, fresh := l.parseAll()
	l.mu.Lock()
	l.problems, l.loaded = problems, issues
	l.mu.Unlock()
	for _, p := range problems {
		if fresh[p.File] {
			l.log.Error("inbox: skipping issue file", slog.String("file", p.File), slog.Any("error", p.Err))
		}
	}
	// The consumers come first: the publisher withholds new issues it
	// takes (the review gate) before they reach the chat.
	for _, c := range l.consumers {
		c.Offer(ctx, results)
	}
	changed, err := l.arch.Replace(ctx, issues)
	l.mu.Lock()
	l.synced = err == nil
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if changed {
		l.log.Info("inbox: loaded", slog.Int("issues", len(issues)), slog.Int("skipped", len(problems)))
	}
	return nil
}

// parseAll reads every issue file; fresh marks the files parsed this time
// (new or changed), whose problems are worth logging.
func (l *Loader) parseAll() ([]*newsletter.Issue, []FileError, []File, map[string]bool) {
	names, err := l.list()
	if err != nil {
		return nil, []FileError{{File: l.display("."), Err: fmt.Errorf("read folder: %w", err)}}, nil,
			map[string]bool{l.display("."): true}
	}
	var root *os.Root
	var realDir string
	if l.dir != "" {
		root, realDir, err = l.openRoot()
		if err != nil {
			return nil, []FileError{{File: l.display("."), Err: fmt.Errorf("open folder: %w", err)}}, nil,
				map[string]bool{l.display("."): true}
		}
		defer root.Close()
	}
	sc := &scan{seen: map[int]string{}, fresh: map[string]bool{},
		parsed: make(map[string]parsedFile, len(names)), present: make(map[string]bool, len(names)), now: time.Now()}
	for _, name := range names {
		l.scanFile(sc, root, realDir, name)
	}
	l.parsed = sc.parsed
	for f := range l.seen {
		if !sc.present[f] {
			delete(l.seen, f)
		}
	}
	l.mu.Lock()
	for f := range l.renamed {
		if !sc.present[f] {
			delete(l.renamed, f)
		}
	}
	l.settleAt = sc.settleAt
	l.mu.Unlock()
	return sc.issues, sc.problems, sc.results, sc.fresh
}

// openRoot opens the folder on disk, and says where it really is (links
// resolved) for the links inside it.
func (l *Loader) openRoot() (*os.Root, string, error) {
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return nil, "", err
	}
	realDir, err := filepath.EvalSymlinks(l.dir)
	if err != nil {
		_ = root.Close()
		return nil, "", err
	}
	return root, realDir, nil
}

// Names lists the issue files as a load finds them, relative to the folder,
// in file name order.
func (l *Loader) Names() ([]string, error) { return l.list() }

// Read reads one issue file, named as Names names it, with every check a
// load makes (a regular file, or a link that stays inside the folder; at
// most MaxSize; never blocking on a FIFO) but without waiting for it to
// settle: for an editor who picks a file to publish now.
func (l *Loader) Read(name string) ([]byte, error) {
	if !fs.ValidPath(name) || !issueFile(path.Base(name)) {
		return nil, refused("not an issue file name")
	}
	var root *os.Root
	var realDir string
	if l.dir != "" {
		var err error
		if root, realDir, err = l.openRoot(); err != nil {
			return nil, err
		}
		defer root.Close()
	}
	_, real, err := l.stat(root, realDir, name)
	if err != nil {
		return nil, err
	}
	data, _, err := l.read(root, real)
	return data, err
}

// list names the issue files in file name order, skipping hidden folders.
func (l *Loader) list() ([]string, error) {
	var names []string
	err := fs.WalkDir(l.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if issueFile(d.Name()) {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// scan is what one load found so far.
type scan struct {
	issues   []*newsletter.Issue
	problems []FileError
	results  []File
	seen     map[int]string // issue number → the file it was taken from
	fresh    map[string]bool
	parsed   map[string]parsedFile
	present  map[string]bool
	now      time.Time
	settleAt time.Time
}

// scanFile takes one file into sc: read and parsed when new or changed
// and settled, the version taken before while it settles.
func (l *Loader) scanFile(sc *scan, root *os.Root, realDir, name string) {
	shown := l.display(name)
	sc.present[shown] = true
	old, had := l.parsed[shown]
	cur := old
	settling := false
	st, real, err := l.stat(root, realDir, name)
	switch {
	case err == nil && !l.settled(shown, st, old, had, sc.now):
		// Still being written (or only just): keep the version taken
		// before, if any, and look again once it may have settled.
		at := st.mtime.Add(l.settle)
		if o := l.seen[shown].at.Add(l.settle); o.Before(at) {
			at = o
		}
		if sc.settleAt.IsZero() || at.Before(sc.settleAt) {
			sc.settleAt = at
		}
		if !had || old.hash == "" {
			sc.results = append(sc.results, File{File: shown, Settling: true})
			return
		}
		settling = true
	default:
		delete(l.seen, shown)
		cur = l.readFile(sc, root, shown, real, st, err, old, had)
	}
	sc.parsed[shown] = cur
	if cur.hash == "" {
		sc.problems = append(sc.problems, FileError{File: shown, Err: cur.err})
		sc.results = append(sc.results, File{File: shown, Err: cur.err})
		return
	}
	res := File{File: shown, Hash: cur.hash, Data: cur.data, Settling: settling}
	switch iss, err := cur.iss, cur.err; {
	case err != nil:
		res.Err = err
	case iss == nil || iss.Number <= 0:
		res.Err = errors.New("no issue number (No.N) found")
	case sc.seen[iss.Number] != "":
		res.Err = fmt.Errorf("issue No.%d is already loaded from %s", iss.Number, sc.seen[iss.Number])
	default:
		sc.seen[iss.Number] = shown
		sc.issues = append(sc.issues, iss)
		res.Issue = iss
	}
	if res.Err != nil {
		sc.problems = append(sc.problems, FileError{File: shown, Err: res.Err})
	}
	sc.results = append(sc.results, res)
}

// readFile reads a settled file (statErr: what stat said) and parses it
// when its content changed since the last parse.
func (l *Loader) readFile(sc *scan, root *os.Root, shown, real string, st stamp, statErr error, old parsedFile, had bool) parsedFile {
	err := statErr
	var data []byte
	if err == nil {
		data, st, err = l.read(root, real)
	}
	if err != nil {
		if !had || old.err == nil || old.hash != "" || old.err.Error() != err.Error() {
			sc.fresh[shown] = true
		}
		return parsedFile{err: err}
	}
	cur := old
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if !had || old.hash != hash {
		cur = parsedFile{hash: hash, data: data}
		cur.iss, cur.err = l.parseGuarded(shown, data)
		sc.fresh[shown] = true
	}
	cur.stamp = st
	return cur
}

// settled reports whether a file may be taken as it is: it is unchanged
// since it was last taken, it arrived by rename, or neither its size nor
// its modification time changed for Settle.
func (l *Loader) settled(shown string, st stamp, old parsedFile, had bool, now time.Time) bool {
	if l.settle <= 0 || l.dir == "" {
		return true
	}
	if had && old.hash != "" && old.stamp == st {
		return true
	}
	l.mu.Lock()
	renamed := l.renamed[shown]
	l.mu.Unlock()
	if renamed || now.Sub(st.mtime) >= l.settle {
		return true
	}
	o, ok := l.seen[shown]
	if !ok || o.stamp != st {
		l.seen[shown] = observed{stamp: st, at: now}
		return false
	}
	return now.Sub(o.at) >= l.settle
}

// ErrRefused matches (errors.Is) the error of a file the loader would not
// read or parse, whatever it holds: not a regular file, a link leading
// outside the folder, too large, too slow to parse.
var ErrRefused = errors.New("inbox: file refused")

type refusal struct{ msg string }

func (r refusal) Error() string        { return r.msg }
func (r refusal) Is(target error) bool { return target == ErrRefused }

func refused(format string, args ...any) error {
	return refusal{msg: "not read: " + fmt.Sprintf(format, args...)}
}

// stat looks at a file without opening it. Only regular files are read,
// directly or through a symbolic link that stays inside the folder
// (Kubernetes mounts a ConfigMap so); real is the name to open.
func (l *Loader) stat(root *os.Root, realDir, name string) (st stamp, real string, err error) {
	var fi fs.FileInfo
	real = name
	if root == nil {
		fi, err = fs.Stat(l.fsys, name)
	} else if fi, err = root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, terr := filepath.EvalSymlinks(filepath.Join(l.dir, filepath.FromSlash(name)))
		if terr != nil {
			return stamp{}, "", refused("a symbolic link to nothing readable")
		}
		rel, rerr := filepath.Rel(realDir, target)
		if rerr != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			return stamp{}, "", refused("a symbolic link to outside the inbox folder")
		}
		real = filepath.ToSlash(rel)
		fi, err = root.Lstat(real)
	}
	if err != nil {
		return stamp{}, "", err
	}
	if err := l.check(fi); err != nil {
		return stamp{}, "", err
	}
	return stamp{size: fi.Size(), mtime: fi.ModTime()}, real, nil
}

// check refuses what is not a regular file of at most MaxSize bytes.
func (l *Loader) check(fi fs.FileInfo) error {
	switch m := fi.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		return refused("a named pipe (FIFO), not a regular file")
	case m&fs.ModeDevice != 0:
		return refused("a device, not a regular file")
	case m&fs.ModeSocket != 0:
		return refused("a socket, not a regular file")
	case !m.IsRegular():
		return refused("not a regular file")
	}
	if max := l.maxSize(fi.Name()); fi.Size() > max {
		return refused("%s, larger than the %s an issue file may be", byteSize(fi.Size()), byteSize(max))
	}
	return nil
}

func (l *Loader) maxSize(name string) int64 {
	limit := int64(newsletter.MaxFileSize)
	if l.maxSizeOpt > 0 {
		limit = l.maxSizeOpt
	}
	if wordFile(name) {
		// A Word file carries its pictures.
		limit = max(limit, newsletter.MaxWordFileSize)
	}
	return limit
}

// read opens a file without blocking (a FIFO put there meanwhile cannot
// stall the loader), checks what it opened, and reads at most MaxSize
// bytes of it.
func (l *Loader) read(root *os.Root, name string) ([]byte, stamp, error) {
	var f fs.File
	var err error
	if root == nil {
		f, err = l.fsys.Open(name)
	} else {
		f, err = root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, stamp{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stamp{}, err
	}
	if err := l.check(fi); err != nil {
		return nil, stamp{}, err
	}
	max := l.maxSize(fi.Name())
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, stamp{}, err
	}
	if int64(len(data)) > max {
		return nil, stamp{}, refused("larger than the %s an issue file may be (it grew while read)", byteSize(max))
	}
	return data, stamp{size: fi.Size(), mtime: fi.ModTime()}, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// parseGuarded parses with ParseTimeout: a parse that takes longer is
// left to finish on its own and the file reported as skipped, so the load
// (and serve's start) goes on.
func (l *Loader) parseGuarded(name string, data []byte) (*newsletter.Issue, error) {
	if l.parseTimeout <= 0 {
		return l.safeParse(name, data)
	}
	type parsed struct {
		iss *newsletter.Issue
		err error
	}
	done := make(chan parsed, 1)
	go func() {
		iss, err := l.safeParse(name, data)
		done <- parsed{iss, err}
	}()
	t := time.NewTimer(l.parseTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.iss, r.err
	case <-t.C:
		return nil, refusal{msg: fmt.Sprintf("skipped: parsing took longer than %s (tried again when the file changes)", l.parseTimeout)}
	}
}

// safeParse turns a parser panic into a located error: one bad file must
// not take the archive (or the process) down.
func (l *Loader) safeParse(name string, data []byte) (iss *newsletter.Issue, err error) {
	defer func() {
		if r := recover(); r != nil {
			iss, err = nil, fmt.Errorf("parser panic: %v", r)
		}
	}()
	iss, warnings, err := l.parse(name, data)
	for _, w := range warnings {
		l.log.Warn("inbox: issue file warning", slog.String("warning", w.String()))
	}
	return iss, err
}

func (l *Loader) display(name string) string {
	if l.dir == "" {
		return name
	}
	return filepath.Join(l.dir, filepath.FromSlash(name))
}

// issueFile reports whether name is an issue file: *.md or a Word file
// (*.docx), not hidden and not an editor's or a copy's temporary name
// (.issue.md.tmp, issue.md~, issue.md.part, #issue.md#, ~$issue.md, and
// Word's lock file ~$issue.docx, all end or start otherwise).
func issueFile(name string) bool {
	// A Word 97-2003 .doc is listed too, so that the editors are told to
	// save it as .docx rather than hear nothing.
	return (strings.EqualFold(path.Ext(name), ".md") || wordFile(name) || strings.EqualFold(path.Ext(name), ".doc")) && !strings.HasPrefix(name, ".") &&
		!strings.HasPrefix(name, "~") && !strings.HasPrefix(name, "#")
}

func wordFile(name string) bool { return strings.EqualFold(path.Ext(name), ".docx") }

// Watch loads now, then reloads after changes in the folder until ctx ends.
// Without a folder on disk it loads once and keeps the archive written to
// Redis. It returns only when ctx ends or the folder cannot be watched.
func (l *Loader) Watch(ctx context.Context) error {
	// Watch first, then load: a file written in between is seen by the
	// load or by an event, never by neither. (Unchanged files are not
	// parsed again, so a load just before Watch costs little.)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if l.dir != "" {
		w, err := l.watcher()
		if err != nil {
			return err
		}
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	if err := l.Load(ctx); err != nil {
		l.log.Warn("inbox: could not store issues in redis; will retry", slog.Any("error", err))
	}
	resync := time.NewTicker(l.resyncEvery)
	defer resync.Stop()
	// While the last write failed (Redis away), or the archive's last
	// refresh (every second under serve) found Redis without one
	// (restarted empty), write again every second, so the issues are back
	// at once rather than at the next resync.
	retry := time.NewTicker(min(l.resyncEvery, time.Second))
	defer retry.Stop()
	var debounce <-chan time.Time
	var timer *time.Timer
	// settle fires when a file still being written may have settled.
	var settleTimer *time.Timer
	settle := l.armSettle(&settleTimer)
	defer func() {
		if settleTimer != nil {
			settleTimer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if !l.noteEvent(ev) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(l.debounce)
			} else {
				timer.Reset(l.debounce)
			}
			debounce = timer.C
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			l.log.Warn("inbox: watch error", slog.Any("error", err))
		case <-debounce:
			debounce = nil
			l.reload(ctx)
			settle = l.armSettle(&settleTimer)
		case <-settle:
			settle = nil
			l.reload(ctx)
			settle = l.armSettle(&settleTimer)
		case <-retry.C:
			l.resyncIfLost(ctx)
		case <-resync.C:
			l.resync(ctx)
		}
	}
}

// watcher watches the folder.
func (l *Loader) watcher() (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("inbox: watch %s: %w", l.dir, err)
	}
	if err := w.Add(l.dir); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("inbox: watch %s: %w", l.dir, err)
	}
	return w, nil
}

// noteEvent reports whether ev concerns the issue files, and remembers
// whether the file arrived whole.
func (l *Loader) noteEvent(ev fsnotify.Event) bool {
	// ..data is the link a Kubernetes ConfigMap swaps to update
	// every file at once; the files' own links do not change.
	if base := filepath.Base(ev.Name); !issueFile(base) && ev.Name != l.dir && base != "..data" {
		return false
	}
	// A create with no write after it is a file moved in whole
	// (or an empty one); any write makes it wait to settle.
	l.mu.Lock()
	switch {
	case ev.Has(fsnotify.Write):
		delete(l.renamed, ev.Name)
	case ev.Has(fsnotify.Create):
		l.renamed[ev.Name] = true
	}
	l.mu.Unlock()
	return true
}

// reload loads again after a change, logging a failure to store.
func (l *Loader) reload(ctx context.Context) {
	if err := l.Load(ctx); err != nil && ctx.Err() == nil {
		l.log.Warn("inbox: could not store issues in redis; will retry", slog.Any("error", err))
	}
}

// armSettle sets t to fire when the last load's first file still settling
// may be taken; nil when none is waiting.
func (l *Loader) armSettle(t **time.Timer) <-chan time.Time {
	l.mu.Lock()
	at := l.settleAt
	l.mu.Unlock()
	if at.IsZero() {
		return nil
	}
	// A little after: the file must have been unchanged for Settle.
	d := time.Until(at) + 10*time.Millisecond
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	return (*t).C
}

// resyncIfLost writes the loaded issues again when the last write failed
// or Redis restarted empty.
func (l *Loader) resyncIfLost(ctx context.Context) {
	l.mu.Lock()
	synced := l.synced
	l.mu.Unlock()
	if !synced || l.arch.Missing() {
		l.resync(ctx)
	}
}

// resync writes the loaded issues to Redis again, logging a failure once
// per outage.
func (l *Loader) resync(ctx context.Context) {
	l.mu.Lock()
	issues := l.loaded
	l.mu.Unlock()
	_, err := l.arch.Replace(ctx, issues)
	l.mu.Lock()
	wasSynced := l.synced
	l.synced = err == nil
	l.mu.Unlock()
	if err != nil && wasSynced && ctx.Err() == nil {
		l.log.Warn("inbox: could not store issues in redis; will retry", slog.Any("error", err))
	}
	if err == nil && !wasSynced {
		l.log.Info("inbox: issues stored in redis again", slog.Int("issues", len(issues)))
	}
}
