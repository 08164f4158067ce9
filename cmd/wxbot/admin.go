package main

// The editor's pages (package admin) wired into serve: the archive, the
// subscriber service and, when this process runs it, the publisher, adapted
// to the small interfaces admin declares.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/lifang/wxbot/admin"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/wechat"
)

// adminHandler builds /admin, or returns nil when admin.token is empty: the
// pages are then not mounted at all (404).
func (m *Main) adminHandler(pub *publisher.Publisher) (http.Handler, error) {
	cfg := m.Config
	if cfg.Admin.Token == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(cfg.Publish.Timezone)
	if err != nil {
		return nil, fmt.Errorf("serve: admin pages: publish.timezone: %w", err)
	}
	proxies, err := admin.ParseTrustedProxies(cfg.HTTP.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("serve: http.trusted_proxies: %w", err)
	}
	o := admin.Options{
		Token:          cfg.Admin.Token,
		Sessions:       admin.NewSessionStore(m.Store.UniversalClient, m.Store.Keys, cfg.Admin.SessionTTL),
		Limiter:        admin.NewLoginLimiter(m.Store.UniversalClient, m.Store.Keys),
		TrustedProxies: proxies,
		Issues:         m.Archive,
		Render:         render.OptionsFrom(cfg.Render),
		Location:       loc,
		Log:            m.Log,
	}
	if m.Subscribers != nil {
		o.Campaigns = m.Subscribers
	}
	if pub != nil {
		o.Pipeline = pipelinePages{pub: pub, render: cfg.Render}
	}
	if m.Readership != nil {
		o.Readership = m.Readership
	}
	h, err := admin.New(o)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	m.Log.Info("admin pages on /admin (admin.token set): log in at "+admin.LoginPath, slog.Duration("session_ttl", cfg.Admin.SessionTTL))
	return h, nil
}

// pipelinePages is the publisher as the admin pages read it.
type pipelinePages struct {
	pub    *publisher.Publisher
	render config.RenderConfig
}

var _ admin.Pipeline = pipelinePages{}

func (p pipelinePages) NextSlot(t time.Time) time.Time { return p.pub.NextSlot(t) }

func (p pipelinePages) Statuses(ctx context.Context) ([]admin.Status, error) {
	recs, err := p.pub.List(ctx)
	out := make([]admin.Status, 0, len(recs))
	for _, r := range recs {
		out = append(out, admin.Status{
			Number: r.Number, State: string(r.State), Goal: string(r.Goal), Mode: r.Mode, File: r.File,
			Articles: r.Articles, Due: r.Due, SentAt: r.SentAt, FinishedAt: r.FinishedAt, Updated: r.Updated,
			MsgID: r.MsgID, MassStatus: r.MassStatus, TotalCount: r.TotalCount, FilterCount: r.FilterCount,
			SentCount: r.SentCount, ErrorCount: r.ErrorCount, URLs: r.URLs,
			ErrCode: r.ErrCode, Explanation: firstNonEmpty(r.Explanation, r.Error),
		})
	}
	return out, err
}

// Draft re-renders the drafted issue from the source the pipeline kept,
// with the image URLs it uploaded, as the pipeline did before draft/add;
// the hash of the result is checked against the one recorded with the
// draft, so the page never shows something other than what WeChat holds.
func (p pipelinePages) Draft(ctx context.Context, n int) (*newsletter.Issue, *render.Draft, error) {
	rec, err := p.pub.Get(ctx, n)
	if errors.Is(err, publisher.ErrUnknownIssue) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if rec.DraftMediaID == "" || len(rec.Source) == 0 {
		return nil, nil, nil
	}
	iss, _, err := newsletter.Parse(rec.File, rec.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: parse the drafted source of No.%d: %w", n, err)
	}
	opts := render.OptionsFrom(p.render)
	opts.ImageURLs = rec.Images
	d, _, err := render.Render(iss, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("admin: render the drafted No.%d: %w", n, err)
	}
	if rec.DraftHash != "" && draftHashOf(d, rec.CoverMediaID) != rec.DraftHash {
		// The render settings changed since the draft was made: what this
		// server renders now is not what WeChat holds.
		return nil, nil, fmt.Errorf("admin: No.%d: the draft in WeChat was rendered with other render settings than this server's", n)
	}
	return iss, d, nil
}

// draftHashOf is the publisher's hash of a draft/add body (publisher
// draftHash): SHA-256 of the JSON of the articles as sent.
func draftHashOf(d *render.Draft, thumb string) string {
	arts := make([]wechat.Article, len(d.Articles))
	for i, a := range d.Articles {
		arts[i] = wechat.Article{
			Title: a.Title, Author: a.Author, Digest: a.Digest, Content: a.Content,
			ContentSourceURL: a.ContentSourceURL, ThumbMediaID: thumb,
			NeedOpenComment: a.NeedOpenComment, OnlyFansCanComment: a.OnlyFansCanComment,
		}
	}
	b, _ := json.Marshal(arts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
