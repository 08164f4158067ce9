package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// report is a run's result: the JSON of --json, the tables otherwise.
type report struct {
	Settings settings        `json:"settings"`
	Machine  machineInfo     `json:"machine"`
	Keywords []keywordReport `json:"keywords"`
	// RetryChecks names the wxbot targets where a retry of one message,
	// sent to another replica, got the first try's reply.
	RetryChecks []string `json:"retry_checks"`
}

type keywordReport struct {
	Keyword    string          `json:"keyword"`
	Expect     expectedReply   `json:"expect"`
	ReplyBytes int             `json:"reply_bytes"`
	Servers    []serverInfo    `json:"servers"`
	Summary    []targetSummary `json:"summary"`
	// DedupeHits is how many requests the wxbot serve processes answered
	// from dedupe during the load (-1: unknown): with --retries, about
	// the retries sent to them.
	DedupeHits int           `json:"dedupe_hits"`
	Slices     []sliceResult `json:"slices"`
}

type serverInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Processes   int    `json:"processes"`
}

// roundFigure is one target's figures in one round.
type roundFigure struct {
	Round     int     `json:"round"`
	ReqPerSec float64 `json:"req_per_sec"`
	Ratio     float64 `json:"ratio_to_reference"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
}

// targetSummary is one target over all rounds: medians of the per-round
// figures, and CPU per request over the sum of its slices.
type targetSummary struct {
	Name        string        `json:"name"`
	Rounds      []roundFigure `json:"rounds"`
	ReqPerSec   float64       `json:"median_req_per_sec"`
	Ratio       float64       `json:"median_ratio"`
	RatioMin    float64       `json:"min_ratio"`
	RatioMax    float64       `json:"max_ratio"`
	P50ms       float64       `json:"median_p50_ms"`
	P99ms       float64       `json:"median_p99_ms"`
	ServerUS    float64       `json:"server_cpu_us_per_req"`
	RedisUS     float64       `json:"redis_cpu_us_per_req"`
	ClientUS    float64       `json:"client_cpu_us_per_req"`
	CoresBusy   float64       `json:"cores_busy"`         // server + Redis + client CPU over wall time
	ServerCores float64       `json:"server_redis_cores"` // server + Redis CPU over wall time
	PerCore     float64       `json:"req_per_sec_per_core"`
	Requests    int           `json:"requests"`
	Errors      int           `json:"errors"`
	Verified    int           `json:"verified"`
	Retries     int           `json:"retries,omitempty"`
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarise computes the per-round ratios and the medians.
func (kr *keywordReport) summarise() {
	refRate := map[int]float64{}
	for _, s := range kr.Slices {
		if s.Target == "reference" {
			refRate[s.Round] = float64(s.Requests) / s.Wall.Seconds()
		}
	}
	kr.Summary = nil
	for _, info := range kr.Servers {
		ts := targetSummary{Name: info.Name}
		var rates, ratios, p50s, p99s []float64
		var wall, server, red, client time.Duration
		for _, s := range kr.Slices {
			if s.Target != info.Name || s.Wall <= 0 {
				continue
			}
			rate := float64(s.Requests) / s.Wall.Seconds()
			f := roundFigure{Round: s.Round, ReqPerSec: rate, P50ms: msOf(s.P50), P99ms: msOf(s.P99)}
			if r := refRate[s.Round]; r > 0 {
				f.Ratio = rate / r
				ratios = append(ratios, f.Ratio)
			}
			ts.Rounds = append(ts.Rounds, f)
			rates, p50s, p99s = append(rates, rate), append(p50s, f.P50ms), append(p99s, f.P99ms)
			wall, server, red, client = wall+s.Wall, server+s.ServerCPU, red+s.RedisCPU, client+s.ClientCPU
			ts.Requests += s.Requests
			ts.Errors += s.Errors
			ts.Verified += s.Checked
			ts.Retries += s.Retries
		}
		ts.ReqPerSec, ts.Ratio, ts.P50ms, ts.P99ms = median(rates), median(ratios), median(p50s), median(p99s)
		if len(ratios) > 0 {
			ts.RatioMin, ts.RatioMax = slices.Min(ratios), slices.Max(ratios)
		}
		if n := float64(ts.Requests); n > 0 && wall > 0 {
			us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / n }
			ts.ServerUS, ts.RedisUS, ts.ClientUS = us(server), us(red), us(client)
			ts.CoresBusy = float64(server+red+client) / float64(wall)
			ts.ServerCores = float64(server+red) / float64(wall)
			if server+red > 0 {
				ts.PerCore = n / (server + red).Seconds()
			}
		}
		kr.Summary = append(kr.Summary, ts)
	}
}

// thousands writes 12345.6 as 12,346.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// markdown writes the report as Markdown: what was run, then per keyword
// the summary and the rounds.
func (r *report) markdown(w io.Writer) {
	s, m := r.Settings, r.Machine
	fmt.Fprintf(w, "wxbench %s: %d CPUs (%s), %s, redis-server %s, load average %s before, %s after\n\n",
		m.Started, m.CPUs, m.CPUModel, m.GoVersion, m.Redis, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(w, "Safe mode, %d connections, %d rounds of %s slices per server in rotating order, %d subscribers, every message to a server a new MsgId (the floors get a pool of them again and again)",
		s.Connections, s.Rounds, s.Slice, s.Users)
	if s.Retries > 0 {
		fmt.Fprintf(w, "; %.0f %% of the requests to a server repeat a push of its previous slice (WeChat's retries)", s.Retries*100)
	}
	if len(s.WxbotEnv) > 0 {
		fmt.Fprintf(w, "; wxbot serve with %s", strings.Join(s.WxbotEnv, " "))
	}
	if s.Baseline != "" {
		fmt.Fprintf(w, "; wxbot-baseline is %s", s.Baseline)
		if len(s.BaselineEnv) > 0 {
			fmt.Fprintf(w, " with %s", strings.Join(s.BaselineEnv, " "))
		}
	}
	fmt.Fprintln(w, ".")
	for _, kr := range r.Keywords {
		fmt.Fprintf(w, "\n### %s (%s reply, %d bytes)\n\n", kr.Keyword, kr.Expect.MsgType, kr.ReplyBytes)
		fmt.Fprintln(w, "| server | req/s | × reference (min–max) | p50 | p99 | CPU µs/req: server + Redis | load client µs/req | cores busy | req/s per core (server + Redis) | verified |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, t := range kr.Summary {
			fmt.Fprintf(w, "| %s | %s | %.2f× (%.2f–%.2f) | %.2f ms | %.2f ms | %.1f + %.1f = %.1f | %.1f | %.2f | %s | %d of %d |\n",
				t.Name, thousands(t.ReqPerSec), t.Ratio, t.RatioMin, t.RatioMax, t.P50ms, t.P99ms,
				t.ServerUS, t.RedisUS, t.ServerUS+t.RedisUS, t.ClientUS, t.CoresBusy, thousands(t.PerCore), t.Verified, t.Requests)
		}
		fmt.Fprintln(w)
		fmt.Fprint(w, "| round |")
		for _, t := range kr.Summary {
			fmt.Fprintf(w, " %s |", t.Name)
		}
		fmt.Fprint(w, "\n|---:|")
		for range kr.Summary {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
		for i := 0; i < s.Rounds; i++ {
			fmt.Fprintf(w, "| %d |", i+1)
			for _, t := range kr.Summary {
				if i >= len(t.Rounds) {
					fmt.Fprint(w, " — |")
					continue
				}
				f := t.Rounds[i]
				fmt.Fprintf(w, " %s (%.2f×, p99 %.1f ms) |", thousands(f.ReqPerSec), f.Ratio, f.P99ms)
			}
			fmt.Fprintln(w)
		}
		errs := 0
		for _, t := range kr.Summary {
			errs += t.Errors
		}
		fmt.Fprintf(w, "\n%d non-200 answers.", errs)
		if s.Retries > 0 {
			retries := 0
			for _, t := range kr.Summary {
				if strings.HasPrefix(t.Name, "wxbot") {
					retries += t.Retries
				}
			}
			fmt.Fprintf(w, " %d retries to wxbot, %d answers from its dedupe.", retries, kr.DedupeHits)
		}
		fmt.Fprintln(w)
	}
	if len(r.RetryChecks) > 0 {
		fmt.Fprintf(w, "\nRetry check (the same push sent again, to another replica where there are several, gets the first reply): ok on %s.\n", strings.Join(r.RetryChecks, ", "))
	}
}

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report FILE.json",
		Short: "Print the Markdown tables of a report saved with --json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var r report
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			r.markdown(cmd.OutOrStdout())
			return nil
		},
	}
}
