package main

// The editor's pages (package admin) wired into serve: the archive, the
// subscriber service and, when this process runs it, the publisher, adapted
// to the small interfaces admin declares.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/lifang/wxbot/admin"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/render"
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
		o.Pipeline = pipelinePages{pub: pub}
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
	pub *publisher.Publisher
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

// Draft is the publisher's own re-rendering of the drafted issue, checked
// against the draft's hash (publisher.Drafted).
func (p pipelinePages) Draft(ctx context.Context, n int) (*newsletter.Issue, *render.Draft, error) {
	return p.pub.Drafted(ctx, n)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
