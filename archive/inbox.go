package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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

// FileResult is what one load found in one issue file: its content and its
// hash, and either the parsed issue or the located error. The publisher
// receives every file's result after each load (OnLoad) to act on new and
// changed issues and to show invalid files in `wxbot status`.
type FileResult struct {
	// File is the file as shown in messages (the path on disk for an inbox).
	File string
	// Hash is the hex SHA-256 of Data.
	Hash  string
	Data  []byte
	Issue *newsletter.Issue // nil when Err is set
	Err   error
}

// Loader keeps the archive in step with a folder of issue files (*.md):
// everything is parsed at start, and again shortly after any file changes.
type Loader struct {
	arch  *Archive
	fsys  fs.FS
	dir   string // the folder on disk, "" for an embedded FS (not watched)
	parse ParseFunc
	log   *slog.Logger

	// Debounce is how long the folder must be quiet before a reload, so an
	// editor's save (several events) or a copied batch loads once.
	Debounce time.Duration
	// Resync is how often the loaded issues are written to Redis again when
	// nothing changed on disk, which restores them after Redis lost its data.
	Resync time.Duration

	mu       sync.Mutex
	problems []FileError
	loaded   []*newsletter.Issue
	synced   bool
	onLoad   func(ctx context.Context, results []FileResult)
	// parsed remembers each file's last parse by content hash, so a reload
	// after an unrelated change (or Watch's first look) neither parses nor
	// logs an unchanged file again.
	parsed map[string]parsedFile
	// loading serialises Load (serve's first load, Watch's reloads).
	loading sync.Mutex
}

type parsedFile struct {
	hash string
	iss  *newsletter.Issue
	err  error
}

// OnLoad registers fn to run after every load with each file's result, in
// file name order. fn runs on the loader's goroutine: it should hand long
// work elsewhere. Set it before Load or Watch.
func (l *Loader) OnLoad(fn func(ctx context.Context, results []FileResult)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onLoad = fn
}

// NewLoader watches dir on disk.
func NewLoader(arch *Archive, dir string, parse ParseFunc, log *slog.Logger) *Loader {
	l := newLoader(arch, os.DirFS(dir), parse, log)
	l.dir = dir
	return l
}

// NewFSLoader loads from a read-only file system, such as the examples
// built into the binary; it is loaded once and not watched.
func NewFSLoader(arch *Archive, fsys fs.FS, parse ParseFunc, log *slog.Logger) *Loader {
	return newLoader(arch, fsys, parse, log)
}

func newLoader(arch *Archive, fsys fs.FS, parse ParseFunc, log *slog.Logger) *Loader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loader{arch: arch, fsys: fsys, parse: parse, log: log,
		Debounce: 300 * time.Millisecond, Resync: 30 * time.Second}
}

// Problems lists the files skipped at the last load, with located errors.
func (l *Loader) Problems() []FileError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]FileError(nil), l.problems...)
}

// Load parses every *.md file and replaces the archive with the valid
// issues. Invalid files are skipped and logged; a number used by two files
// keeps the first by name. The error is only about Redis.
func (l *Loader) Load(ctx context.Context) error {
	l.loading.Lock()
	defer l.loading.Unlock()
	issues, problems, results, fresh := l.parseAll()
	l.mu.Lock()
	l.problems, l.loaded = problems, issues
	onLoad := l.onLoad
	l.mu.Unlock()
	for _, p := range problems {
		if fresh[p.File] {
			l.log.Error("archive: skipping issue file", slog.String("file", p.File), slog.Any("error", p.Err))
		}
	}
	// The hook runs first: the publisher withholds new issues it takes
	// (the review gate) before they reach the chat.
	if onLoad != nil {
		onLoad(ctx, results)
	}
	changed, err := l.arch.Replace(ctx, issues)
	l.mu.Lock()
	l.synced = err == nil
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if changed {
		l.log.Info("archive: loaded", slog.Int("issues", len(issues)), slog.Int("skipped", len(problems)))
	}
	return nil
}

// parseAll reads every issue file; fresh marks the files parsed this time
// (new or changed), whose problems are worth logging.
func (l *Loader) parseAll() ([]*newsletter.Issue, []FileError, []FileResult, map[string]bool) {
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
	if err != nil {
		return nil, []FileError{{File: l.display("."), Err: fmt.Errorf("read folder: %w", err)}}, nil,
			map[string]bool{l.display("."): true}
	}
	sort.Strings(names)
	var issues []*newsletter.Issue
	var problems []FileError
	var results []FileResult
	seen := map[int]string{}
	fresh := map[string]bool{}
	parsed := make(map[string]parsedFile, len(names))
	for _, name := range names {
		shown := l.display(name)
		data, err := fs.ReadFile(l.fsys, name)
		if err != nil {
			fresh[shown] = true
			problems = append(problems, FileError{File: shown, Err: err})
			results = append(results, FileResult{File: shown, Err: err})
			continue
		}
		sum := sha256.Sum256(data)
		res := FileResult{File: shown, Hash: hex.EncodeToString(sum[:]), Data: data}
		prev, ok := l.parsed[shown]
		if !ok || prev.hash != res.Hash {
			prev.hash = res.Hash
			prev.iss, prev.err = l.safeParse(shown, data)
			fresh[shown] = true
		}
		parsed[shown] = prev
		iss, err := prev.iss, prev.err
		switch {
		case err != nil:
			res.Err = err
		case iss == nil || iss.Number <= 0:
			res.Err = errors.New("no issue number (No.N) found")
		case seen[iss.Number] != "":
			res.Err = fmt.Errorf("issue No.%d is already loaded from %s", iss.Number, seen[iss.Number])
		default:
			seen[iss.Number] = shown
			issues = append(issues, iss)
			res.Issue = iss
		}
		if res.Err != nil {
			problems = append(problems, FileError{File: shown, Err: res.Err})
		}
		results = append(results, res)
	}
	l.parsed = parsed
	return issues, problems, results, fresh
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
		l.log.Warn("archive: issue file warning", slog.String("warning", w.String()))
	}
	return iss, err
}

func (l *Loader) display(name string) string {
	if l.dir == "" {
		return name
	}
	return filepath.Join(l.dir, filepath.FromSlash(name))
}

func issueFile(name string) bool {
	return strings.EqualFold(path.Ext(name), ".md") && !strings.HasPrefix(name, ".")
}

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
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("archive: watch %s: %w", l.dir, err)
		}
		defer w.Close()
		if err := w.Add(l.dir); err != nil {
			return fmt.Errorf("archive: watch %s: %w", l.dir, err)
		}
		events, errs = w.Events, w.Errors
	}
	if err := l.Load(ctx); err != nil {
		l.log.Warn("archive: could not store issues in redis; will retry", slog.Any("error", err))
	}
	resync := time.NewTicker(l.Resync)
	defer resync.Stop()
	// While the last write failed (Redis away), or the archive's last
	// refresh (every second under serve) found Redis without one
	// (restarted empty), write again every second, so the issues are back
	// at once rather than at the next resync.
	retry := time.NewTicker(min(l.Resync, time.Second))
	defer retry.Stop()
	var debounce <-chan time.Time
	var timer *time.Timer
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
			if !issueFile(filepath.Base(ev.Name)) && ev.Name != l.dir {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(l.Debounce)
			} else {
				timer.Reset(l.Debounce)
			}
			debounce = timer.C
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			l.log.Warn("archive: watch error", slog.Any("error", err))
		case <-debounce:
			debounce = nil
			if err := l.Load(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("archive: could not store issues in redis; will retry", slog.Any("error", err))
			}
		case <-retry.C:
			l.mu.Lock()
			synced := l.synced
			l.mu.Unlock()
			if !synced || l.arch.missing.Load() {
				l.resync(ctx)
			}
		case <-resync.C:
			l.resync(ctx)
		}
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
		l.log.Warn("archive: could not store issues in redis; will retry", slog.Any("error", err))
	}
	if err == nil && !wasSynced {
		l.log.Info("archive: issues stored in redis again", slog.Int("issues", len(issues)))
	}
}
