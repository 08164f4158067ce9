// Package metrics declares every Prometheus collector wxbot exports on
// /metrics, in one place, so names and labels stay consistent across the
// webhook, the WeChat API client, the publisher and the scheduler.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors. Build one with New and pass it down; a
// component given nil should use Discard().
type Metrics struct {
	Registry *prometheus.Registry

	// WebhookLatency: seconds from request to answer, by result:
	// reply, success (nothing to say), late (answered success, real reply
	// sent later), duplicate, degraded, verify (URL check), forbidden,
	// bad_request, too_large, busy (503: too many bodies being read), error.
	WebhookLatency *prometheus.HistogramVec
	// WebhookRefused counts webhook requests refused for a reason an
	// operator should see: plaintext (a plaintext push while
	// wechat.message_mode is safe or compat — a downgrade attempt, or a
	// mode mismatch with WeChat's settings page) and busy (more bodies
	// being read at once than the webhook allows; answered 503).
	WebhookRefused *prometheus.CounterVec
	// WebhookClockSkew is this replica's clock minus the timestamp of the
	// last signed push, in seconds (negative: this clock is behind
	// WeChat's). Past wechat.timestamp_window every push is refused.
	WebhookClockSkew prometheus.Gauge
	// DedupeHits counts WeChat retries recognised as such.
	DedupeHits prometheus.Counter
	// Replies counts replies by kind (text, news, image, success) and rule
	// (the built-in or configured rule that produced it).
	Replies *prometheus.CounterVec
	// Degraded counts answers given without Redis (no dedupe, no session), by reason.
	Degraded *prometheus.CounterVec
	// CommitWait is how long, in seconds, a question answered in one Redis
	// round trip waited for that commit: the queue for a committer and the
	// round trip itself.
	CommitWait prometheus.Histogram
	// CommitBatch is how many questions one commit script call carried.
	CommitBatch prometheus.Histogram
	// APICalls counts WeChat API calls by endpoint and errcode ("0" for
	// success, "http" for transport failures).
	APICalls *prometheus.CounterVec
	// TokenRefreshes counts access tokens fetched from WeChat (not from the cache).
	TokenRefreshes prometheus.Counter
	// PipelineTransitions counts issue state changes by the state entered.
	PipelineTransitions *prometheus.CounterVec
	// ScheduleLag is how late, in seconds, a due issue started sending.
	ScheduleLag prometheus.Histogram
	// CustomerMessages counts customer-service messages by purpose and result.
	CustomerMessages *prometheus.CounterVec
	// LatestIssueReads is WeChat's readers of the latest issue sent
	// (datacube, up to yesterday); Followers is the account's followers at
	// the end of the last day WeChat reported (readership collector).
	LatestIssueReads prometheus.Gauge
	Followers        prometheus.Gauge
	// Notices counts editors' notices by channel (wecom, smtp, wechat) and
	// result: sent, retry (an attempt failed, another follows), failed
	// (given up), skipped (WeChat's window closed for an admin), duplicate
	// (channel "any": another replica had it).
	Notices *prometheus.CounterVec
}

// New creates the collectors and registers them, with the Go and process
// collectors, on a fresh registry.
func New() *Metrics {
	m := build()
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.WebhookLatency, m.WebhookRefused, m.WebhookClockSkew, m.DedupeHits, m.Replies, m.Degraded, m.CommitWait, m.CommitBatch, m.APICalls,
		m.TokenRefreshes, m.PipelineTransitions, m.ScheduleLag, m.CustomerMessages,
		m.LatestIssueReads, m.Followers,
		m.Notices,
	)
	m.Registry = reg
	m.zero()
	return m
}

// zero creates the series whose labels form a closed set, at 0, so /metrics
// shows them before the first event and rate() sees the first increment.
func (m *Metrics) zero() {
	for _, r := range []string{"reply", "success", "late", "duplicate", "degraded", "verify", "forbidden", "bad_request", "too_large", "busy", "error"} {
		m.WebhookLatency.WithLabelValues(r)
	}
	for _, r := range []string{"plaintext", "busy"} {
		m.WebhookRefused.WithLabelValues(r)
	}
	for _, r := range []string{"claim", "store", "wait"} {
		m.Degraded.WithLabelValues(r)
	}
	for _, c := range []string{"wecom", "smtp", "wechat"} {
		for _, r := range []string{"sent", "retry", "failed", "skipped"} {
			m.Notices.WithLabelValues(c, r)
		}
	}
	m.Notices.WithLabelValues("any", "duplicate")
	for _, p := range []string{"late_reply", "notice"} {
		for _, r := range []string{"sent", "failed", "skipped"} {
			m.CustomerMessages.WithLabelValues(p, r)
		}
	}
}

// Discard returns working collectors registered nowhere, for tests and tools.
func Discard() *Metrics { return build() }

func build() *Metrics {
	return &Metrics{
		LatestIssueReads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxbot_latest_issue_reads",
			Help: "WeChat's readers (int_page_read_user) of the latest issue sent, up to yesterday (Beijing).",
		}),
		Followers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxbot_followers",
			Help: "The account's followers (datacube cumulate_user) at the end of the last day WeChat reported.",
		}),
		WebhookLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wxbot_webhook_duration_seconds",
			Help:    "Time to answer a WeChat webhook request, by result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 4.5, 5},
		}, []string{"result"}),
		WebhookRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_webhook_refused_total",
			Help: "Webhook requests refused: plaintext (a plaintext push in safe or compat mode), busy (too many bodies being read at once).",
		}, []string{"reason"}),
		WebhookClockSkew: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxbot_webhook_clock_skew_seconds",
			Help: "This clock minus the timestamp of the last signed WeChat push, in seconds (negative: behind). Pushes outside wechat.timestamp_window are refused.",
		}),
		DedupeHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxbot_webhook_dedupe_hits_total",
			Help: "WeChat retries recognised as duplicates of a message already handled.",
		}),
		Replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_replies_total",
			Help: "Replies to subscribers, by kind and rule.",
		}, []string{"kind", "rule"}),
		Degraded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_webhook_degraded_total",
			Help: "Webhook answers given in degraded mode (Redis unavailable), by reason.",
		}, []string{"reason"}),
		CommitWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wxbot_webhook_commit_wait_seconds",
			Help:    "Time a question waited for its one-round-trip Redis commit (queue and round trip).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5},
		}),
		CommitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wxbot_webhook_commit_batch_messages",
			Help:    "Questions committed by one Redis pipeline.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		APICalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_wechat_api_calls_total",
			Help: "WeChat API calls, by endpoint and errcode.",
		}, []string{"endpoint", "errcode"}),
		TokenRefreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxbot_wechat_token_refreshes_total",
			Help: "Access tokens fetched from WeChat rather than from the shared cache.",
		}),
		PipelineTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_pipeline_transitions_total",
			Help: "Publishing pipeline state changes, by state entered.",
		}, []string{"state"}),
		ScheduleLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wxbot_schedule_lag_seconds",
			Help:    "Delay between an issue's scheduled time and the start of its broadcast.",
			Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 3600},
		}),
		CustomerMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_customer_messages_total",
			Help: "Customer-service messages sent, by purpose (late_reply, notice) and result.",
		}, []string{"purpose", "result"}),
		Notices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxbot_notices_total",
			Help: "Editors' notices by channel (wecom, smtp, wechat, any) and result (sent, retry, failed, skipped, duplicate).",
		}, []string{"channel", "result"}),
	}
}
