package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The archive's shared state: the issues, their article URLs, the review
// gate and the pinned issues, each a hash keyed by issue number, and a
// version bumped on every change so replicas know to read again. Every key
// shares the {archive} hash tag, so each MULTI below runs on Cluster too.
// The values are the archive's JSON: here they are strings.

// ArchiveContents is the archive as read at one version.
type ArchiveContents struct {
	Version  int64             // 0: no archive in Redis
	Issues   map[string]string // issue number → issue JSON
	URLs     map[string]string // issue number → article URLs JSON
	Withheld map[string]string // issue number → why subscribers do not see it
}

// ReadArchive reads the version, issues, URLs and review gate in one MULTI,
// so they are consistent with each other.
func ReadArchive(ctx context.Context, rdb redis.Cmdable, k Keys) (ArchiveContents, error) {
	var verCmd *redis.StringCmd
	var issuesCmd, urlsCmd, withheldCmd *redis.MapStringStringCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		verCmd = p.Get(ctx, k.ArchiveVersion())
		issuesCmd = p.HGetAll(ctx, k.ArchiveIssues())
		urlsCmd = p.HGetAll(ctx, k.ArchiveURLs())
		withheldCmd = p.HGetAll(ctx, k.ArchiveWithheld())
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return ArchiveContents{}, err
	}
	ver, _ := strconv.ParseInt(verCmd.Val(), 10, 64)
	return ArchiveContents{Version: ver, Issues: issuesCmd.Val(), URLs: urlsCmd.Val(), Withheld: withheldCmd.Val()}, nil
}

// WithholdIssue puts issue n behind the review gate for the reason why and
// bumps the version, in one MULTI.
func WithholdIssue(ctx context.Context, rdb redis.Cmdable, k Keys, n int, why string) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.ArchiveWithheld(), strconv.Itoa(n), why)
		p.Incr(ctx, k.ArchiveVersion())
		return nil
	})
	return err
}

// ReleaseIssue takes issue n from behind the review gate and, when it was
// there, bumps the version.
func ReleaseIssue(ctx context.Context, rdb redis.Cmdable, k Keys, n int) error {
	removed, err := rdb.HDel(ctx, k.ArchiveWithheld(), strconv.Itoa(n)).Result()
	if err != nil || removed == 0 {
		return err
	}
	return rdb.Incr(ctx, k.ArchiveVersion()).Err()
}

// ArchiveWrite is a whole new set of archive issues and, after Redis lost
// the archive, what a replica remembers of the rest.
type ArchiveWrite struct {
	Issues map[string]string // issue number → issue JSON: replaces every issue
	// Written back only where the field is not there (HSETNX):
	Withheld map[int]string    // issue number → why withheld
	Pinned   map[string]string // issue number → pinned issue JSON
	URLs     map[string]string // issue number → article URLs JSON
}

// ReplaceArchiveIssues makes w.Issues the archive's issues, writes back
// w's remembered gate, pins and URLs without replacing anything there, and
// bumps the version, in one MULTI.
func ReplaceArchiveIssues(ctx context.Context, rdb redis.Cmdable, k Keys, w ArchiveWrite) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for n, why := range w.Withheld {
			p.HSetNX(ctx, k.ArchiveWithheld(), strconv.Itoa(n), why)
		}
		for f, raw := range w.Pinned {
			p.HSetNX(ctx, k.ArchivePinned(), f, raw)
		}
		for f, raw := range w.URLs {
			p.HSetNX(ctx, k.ArchiveURLs(), f, raw)
		}
		p.Del(ctx, k.ArchiveIssues())
		if len(w.Issues) > 0 {
			args := make([]any, 0, 2*len(w.Issues))
			for f, v := range w.Issues {
				args = append(args, f, v)
			}
			p.HSet(ctx, k.ArchiveIssues(), args...)
		}
		p.Incr(ctx, k.ArchiveVersion())
		return nil
	})
	return err
}

// PinIssue records issue n (its JSON raw) as pinned and adds it to the
// issues unless one with its number is there (an inbox file wins), in one
// MULTI; when it added the issue it bumps the version. It reports whether
// it added the issue.
func PinIssue(ctx context.Context, rdb redis.Cmdable, k Keys, n int, raw string) (bool, error) {
	var added *redis.BoolCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.ArchivePinned(), strconv.Itoa(n), raw)
		added = p.HSetNX(ctx, k.ArchiveIssues(), strconv.Itoa(n), raw)
		return nil
	})
	if err != nil {
		return false, err
	}
	if !added.Val() {
		return false, nil
	}
	return true, rdb.Incr(ctx, k.ArchiveVersion()).Err()
}

// SetIssueURLs records issue n's article URLs (their JSON raw; "" removes
// them) and bumps the version, in one MULTI.
func SetIssueURLs(ctx context.Context, rdb redis.Cmdable, k Keys, n int, raw string) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if raw == "" {
			p.HDel(ctx, k.ArchiveURLs(), strconv.Itoa(n))
		} else {
			p.HSet(ctx, k.ArchiveURLs(), strconv.Itoa(n), raw)
		}
		p.Incr(ctx, k.ArchiveVersion())
		return nil
	})
	return err
}
