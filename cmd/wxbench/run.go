package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/newsletter"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wxbench",
		Short: "Measure wxbot serve against the bare silenceper/wechat server, every server its own process",
		Long: `wxbench builds wxbot (go build ./cmd/wxbot, or --wxbot BIN) and starts, each
as its own process on loopback: a redis-server on a free port, 'wxbot serve'
on it (safe mode, the built-in example issues; --replicas more of them on the
same Redis, --cluster as many again on a 3-master Redis Cluster), the SDK
reference (wxbench serve-ref: silenceper/wechat's server with wxbot's chat,
no Redis), a net/http floor (wxbench serve-http) and a bare-TCP floor
(wxbench serve-tcp) answering a recorded reply with no work. The load client
(wxbench load) is another process: raw keep-alive HTTP/1.1 connections
sending pre-built, distinct, signed and encrypted messages (a new MsgId
each, so dedupe works as with real traffic). The servers take turns in
short slices, in an order that rotates each round; per round and as
medians the report gives req/s, the ratio to the reference, p50/p99, and
the CPU per request of each server's processes, of redis-server and of the
load client (from /proc/PID/stat), with the cores busy meanwhile. One
reply in 64 per connection is decrypted and checked against the expected
answer. Everything it starts it stops, on exit and on a signal.`,
		Args: cobra.NoArgs,
		RunE: runBench,
	}
	f := cmd.Flags()
	f.StringSlice("keyword", []string{"最新", "GDPR"}, "what the subscribers send; each keyword is its own set of rounds")
	f.Int("connections", 32, "concurrent keep-alive connections of the load client")
	f.Int("rounds", 6, "rounds; every server has one slice per round")
	f.Duration("slice", 400*time.Millisecond, "how long each server is loaded per round")
	f.Int("users", 1000, "distinct subscribers sending")
	f.Float64("retries", 0, "this share of the requests to each server (0…0.5) repeats, byte for byte, a push it was sent in its previous slice, as WeChat's retries do (wxbot answers them from dedupe)")
	f.Int("replicas", 1, "also measure this many 'wxbot serve' replicas on the one redis-server (2 or 3; 1: just the one)")
	f.Bool("cluster", false, "also measure max(--replicas, 1) replicas on a 3-master Redis Cluster on loopback")
	f.String("wxbot", "", "the wxbot binary to measure (default: go build ./cmd/wxbot into a temporary folder)")
	f.StringArray("wxbot-env", nil, "KEY=VALUE for the 'wxbot serve' processes, e.g. GOGC=400 or a WXBOT_BOT_… setting (repeatable; not redis, http.addr or wechat keys)")
	f.String("baseline", "", "also measure this wxbot binary (e.g. one built from main) as the server wxbot-baseline, one replica on the same redis-server, interleaved with the others")
	f.StringArray("baseline-env", nil, "KEY=VALUE for the baseline's process (repeatable; default: those of --wxbot-env)")
	f.Bool("json", false, "print the report as JSON instead of Markdown tables")
	f.Duration("timeout", 10*time.Minute, "give up after this long")
	return cmd
}

// settings are the run's parameters, as reported.
type settings struct {
	Keywords    []string      `json:"keywords"`
	Connections int           `json:"connections"`
	Rounds      int           `json:"rounds"`
	Slice       time.Duration `json:"slice_ns"`
	Users       int           `json:"users"`
	Retries     float64       `json:"retries,omitempty"`
	Replicas    int           `json:"replicas"`
	Cluster     bool          `json:"cluster"`
	WxbotEnv    []string      `json:"wxbot_env,omitempty"`
	Baseline    string        `json:"baseline,omitempty"`
	BaselineEnv []string      `json:"baseline_env,omitempty"`
}

// server is one target: its processes and the Redis processes it uses.
type server struct {
	name  string
	desc  string
	addrs []string
	procs []*child
	redis []*redisNode
	floor bool
}

func (s *server) target() loadTarget {
	t := loadTarget{Name: s.name, Addrs: s.addrs, Floor: s.floor}
	for _, p := range s.procs {
		t.PIDs = append(t.PIDs, p.pid())
	}
	for _, r := range s.redis {
		t.RedisPIDs = append(t.RedisPIDs, r.proc.pid())
	}
	return t
}

func readSettings(cmd *cobra.Command) (settings, time.Duration, string, bool, error) {
	f := cmd.Flags()
	var s settings
	s.Keywords, _ = f.GetStringSlice("keyword")
	s.Connections, _ = f.GetInt("connections")
	s.Rounds, _ = f.GetInt("rounds")
	s.Slice, _ = f.GetDuration("slice")
	s.Users, _ = f.GetInt("users")
	s.Retries, _ = f.GetFloat64("retries")
	s.Replicas, _ = f.GetInt("replicas")
	s.Cluster, _ = f.GetBool("cluster")
	s.WxbotEnv, _ = f.GetStringArray("wxbot-env")
	s.Baseline, _ = f.GetString("baseline")
	s.BaselineEnv, _ = f.GetStringArray("baseline-env")
	if !f.Changed("baseline-env") {
		s.BaselineEnv = s.WxbotEnv
	}
	timeout, _ := f.GetDuration("timeout")
	bin, _ := f.GetString("wxbot")
	asJSON, _ := f.GetBool("json")
	switch {
	case len(s.Keywords) == 0:
		return s, 0, "", false, usageError{"--keyword: at least one"}
	case s.Connections < 1 || s.Connections > 1024:
		return s, 0, "", false, usageError{"--connections must be 1…1024"}
	case s.Rounds < 1 || s.Rounds > 50:
		return s, 0, "", false, usageError{"--rounds must be 1…50"}
	case s.Slice < 20*time.Millisecond || s.Slice > 30*time.Second:
		return s, 0, "", false, usageError{"--slice must be 20ms…30s"}
	case s.Users < 1:
		return s, 0, "", false, usageError{"--users must be at least 1"}
	case s.Retries < 0 || s.Retries > 0.5:
		return s, 0, "", false, usageError{"--retries must be 0…0.5"}
	case s.Replicas < 1 || s.Replicas > 3:
		return s, 0, "", false, usageError{"--replicas must be 1, 2 or 3"}
	case timeout <= 0:
		return s, 0, "", false, usageError{"--timeout must be positive"}
	}
	for _, kv := range append(slices.Clone(s.WxbotEnv), s.BaselineEnv...) {
		if err := checkEnv(kv); err != nil {
			return s, 0, "", false, err
		}
	}
	return s, timeout, bin, asJSON, nil
}

// checkEnv refuses what would take wxbot serve off this run's loopback
// Redis and port or change the account the load client signs for.
func checkEnv(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return usageError{fmt.Sprintf("--wxbot-env %q: want KEY=VALUE", kv)}
	}
	for _, p := range []string{"WXBOT_REDIS_", "WXBOT_HTTP_ADDR", "WXBOT_HTTP_WEBHOOK_PATH", "WXBOT_WECHAT_", "WXBOT_NEWSLETTER_"} {
		if strings.HasPrefix(k, p) {
			return usageError{fmt.Sprintf("--wxbot-env %q: the run sets %s* itself (loopback Redis and port, the bench account, the example issues)", kv, p)}
		}
	}
	return nil
}

// absBinary resolves a binary given on the command line (the children run
// in the run's folder: a relative path would not lead there).
func absBinary(flag, bin string) (string, error) {
	p, err := exec.LookPath(bin)
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return "", usageError{flag + ": " + err.Error()}
	}
	return p, nil
}

func runBench(cmd *cobra.Command, _ []string) error {
	set, timeout, wxbotBin, asJSON, err := readSettings(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "wxbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cs := &children{dir: dir}
	defer cs.stopAll()
	// A signal (the command's context) or the timeout stops the children
	// at once, whatever the run is waiting for.
	go func() { <-ctx.Done(); cs.stopAll() }()
	progress := cmd.ErrOrStderr()

	if wxbotBin != "" {
		if wxbotBin, err = absBinary("--wxbot", wxbotBin); err != nil {
			return err
		}
	}
	if set.Baseline != "" {
		if set.Baseline, err = absBinary("--baseline", set.Baseline); err != nil {
			return err
		}
	}
	if wxbotBin == "" {
		fmt.Fprintln(progress, "wxbench: go build ./cmd/wxbot")
		wxbotBin = filepath.Join(dir, "wxbot")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", wxbotBin, "github.com/lifang/wxbot/cmd/wxbot").CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build ./cmd/wxbot (run wxbench inside the repository, or give --wxbot BIN): %w\n%s", err, out)
		}
	}

	t0 := time.Now()
	rd, servers, err := startServers(ctx, cs, self, wxbotBin, set)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "wxbench: %d servers up in %s\n", len(servers), time.Since(t0).Round(time.Millisecond))
	rep := &report{Settings: set, Machine: machine(ctx, rd.addr)}
	for _, kw := range set.Keywords {
		kr, err := benchKeyword(ctx, cs, self, set, kw, servers)
		if err != nil {
			return err
		}
		rep.Keywords = append(rep.Keywords, kr)
	}
	for _, s := range servers {
		if !s.floor && s.name != "reference" {
			if err := retryCheck(ctx, s); err != nil {
				return fmt.Errorf("retry check on %s: %w", s.name, err)
			}
			rep.RetryChecks = append(rep.RetryChecks, s.name)
		}
	}
	rep.Machine.LoadAfter = loadAverage()
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.markdown(cmd.OutOrStdout())
	return nil
}

// startServers starts the run's redis-server, the reference and every
// wxbot serve (with --baseline, --replicas and --cluster as asked), and
// returns them in the order they are reported.
func startServers(ctx context.Context, cs *children, self, wxbotBin string, set settings) (*redisNode, []*server, error) {
	rd, err := startRedis(ctx, cs, "redis")
	if err != nil {
		return nil, nil, err
	}
	var servers []*server
	ref, err := startSelf(ctx, cs, self, "reference", "serve-ref")
	if err != nil {
		return nil, nil, err
	}
	ref.desc = "silenceper/wechat server (bot/refserver), no Redis"
	servers = append(servers, ref)

	wx, err := startWxbots(ctx, cs, wxbotBin, set.Replicas, []*redisNode{rd}, set.WxbotEnv)
	if err != nil {
		return nil, nil, err
	}
	one := &server{name: "wxbot", desc: "wxbot serve, safe mode, on redis-server", addrs: wx.addrs[:1], procs: wx.procs[:1], redis: wx.redis}
	servers = append(servers, one)
	if set.Baseline != "" {
		b, err := startWxbots(ctx, cs, set.Baseline, 1, []*redisNode{rd}, set.BaselineEnv)
		if err != nil {
			return nil, nil, err
		}
		b.name, b.desc = "wxbot-baseline", "the --baseline binary's wxbot serve on the same redis-server"
		servers = append(servers, b)
	}
	if set.Replicas > 1 {
		wx.name = "wxbot-x" + strconv.Itoa(set.Replicas)
		wx.desc = fmt.Sprintf("%d × wxbot serve on one redis-server", set.Replicas)
		servers = append(servers, wx)
	}
	if set.Cluster {
		nodes, err := startCluster(ctx, cs)
		if err != nil {
			return nil, nil, err
		}
		cl, err := startWxbots(ctx, cs, wxbotBin, set.Replicas, nodes, set.WxbotEnv)
		if err != nil {
			return nil, nil, err
		}
		cl.name = "wxbot-cluster-x" + strconv.Itoa(set.Replicas)
		cl.desc = fmt.Sprintf("%d × wxbot serve on a 3-master Redis Cluster", set.Replicas)
		servers = append(servers, cl)
	}

	return rd, servers, nil
}

// startSelf runs this binary's subcommand as a server on a free port.
func startSelf(ctx context.Context, cs *children, self, name string, args ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := loopback(port)
	c, err := cs.start(name, self, nil, append(args, "--addr", addr)...)
	if err != nil {
		return nil, err
	}
	if err := waitListening(ctx, c, addr, 15*time.Second); err != nil {
		return nil, err
	}
	return &server{name: name, addrs: []string{addr}, procs: []*child{c}}, nil
}

// startWxbots runs n `wxbot serve` processes on the given Redis (one node,
// or a Cluster's seeds), each with its own configuration file.
func startWxbots(ctx context.Context, cs *children, bin string, n int, rds []*redisNode, extraEnv []string) (*server, error) {
	s := &server{redis: rds}
	var seeds []string
	for _, r := range rds {
		seeds = append(seeds, strconv.Quote(r.addr))
	}
	redisYAML := "redis:\n  addr: " + seeds[0] + "\n"
	if len(rds) > 1 {
		redisYAML = "redis:\n  addrs: [" + strings.Join(seeds, ", ") + "]\n  cluster: true\n"
	}
	for i := 0; i < n; i++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := loopback(port)
		// Otherwise the defaults, as in production (log level info: a
		// webhook request that succeeds is logged at debug, so not at all).
		yaml := "http:\n  addr: " + strconv.Quote(addr) + "\n" +
			"wechat:\n  token: " + benchToken + "\n  app_id: " + benchAppID + "\n  encoding_aes_key: " + benchAESKey + "\n" +
			"  message_mode: safe\n  api_base: http://127.0.0.1:1\n" + redisYAML
		file := filepath.Join(cs.dir, fmt.Sprintf("wxbot-%d-%d.yaml", len(cs.list), i))
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			return nil, err
		}
		c, err := cs.start("wxbot", bin, wxbotEnv(extraEnv), "serve", "--config", file)
		if err != nil {
			return nil, err
		}
		if err := waitListening(ctx, c, addr, 20*time.Second); err != nil {
			return nil, err
		}
		s.addrs = append(s.addrs, addr)
		s.procs = append(s.procs, c)
	}
	return s, nil
}

// probe sends one message with keyword to addr and decodes the answer.
func probe(addr, keyword string, msgID int64) (*wechatsim.Reply, []byte, error) {
	acct := benchAccount()
	now := time.Now()
	p, err := acct.Seal(wechatsim.Text("oBenchProbe", benchUser, keyword, msgID, now.Unix()), wechatsim.Safe, now)
	if err != nil {
		return nil, nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+addr+webhookPath+"?"+p.Query, "text/xml", strings.NewReader(string(p.Body)))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	r, err := acct.Open(resp.StatusCode, body)
	return r, body, err
}

// benchKeyword checks that every server answers keyword alike, starts the
// floors with that answer, and runs the load client over all of them.
func benchKeyword(ctx context.Context, cs *children, self string, set settings, kw string, servers []*server) (keywordReport, error) {
	kr := keywordReport{Keyword: kw}
	msgID := time.Now().UnixNano() / 1000
	var want *wechatsim.Reply
	var recorded []byte
	for _, s := range servers {
		for _, addr := range s.addrs {
			msgID++
			r, body, err := probe(addr, kw, msgID)
			if err != nil {
				return kr, fmt.Errorf("%s at %s, %q: %w", s.name, addr, kw, err)
			}
			if want == nil {
				want = r
			} else if err := (expectedReply{MsgType: want.MsgType, Content: want.Content, Articles: want.Articles}).matches(r); err != nil {
				return kr, fmt.Errorf("%s answers %q unlike the reference: %w", s.name, kw, err)
			}
			if s.name == "wxbot" {
				recorded = body
			}
		}
	}
	if err := sane(kw, want); err != nil {
		return kr, err
	}
	kr.Expect = expectedReply{MsgType: want.MsgType, Content: want.Content, Articles: want.Articles}
	kr.ReplyBytes = len(recorded)

	// The floors answer what wxbot answered, byte for byte.
	replyFile := filepath.Join(cs.dir, "reply.xml")
	if err := os.WriteFile(replyFile, recorded, 0o600); err != nil {
		return kr, err
	}
	targets := servers
	for _, f := range []struct{ name, sub, desc string }{
		{"http-floor", "serve-http", "net/http answering the recorded reply, no work"},
		{"tcp-floor", "serve-tcp", "bare TCP: a fixed HTTP/1.1 reply, no work"},
	} {
		s, err := startSelf(ctx, cs, self, f.name, f.sub, "--reply-file", replyFile)
		if err != nil {
			return kr, err
		}
		defer s.procs[0].stop(3 * time.Second)
		s.desc, s.floor = f.desc, true
		targets = append(targets, s)
	}
	plan := loadPlan{Keyword: kw, Conns: set.Connections, Rounds: set.Rounds, Slice: set.Slice, Users: set.Users,
		MsgIDBase: msgID + 1000, Expect: kr.Expect, Retries: set.Retries}
	for _, s := range targets {
		plan.Targets = append(plan.Targets, s.target())
		kr.Servers = append(kr.Servers, serverInfo{Name: s.name, Description: s.desc, Processes: len(s.procs)})
	}
	data, err := json.Marshal(plan)
	if err != nil {
		return kr, err
	}
	planFile := filepath.Join(cs.dir, "plan.json")
	if err := os.WriteFile(planFile, data, 0o600); err != nil {
		return kr, err
	}
	fmt.Fprintf(os.Stderr, "wxbench: %q: %d servers × %d rounds × %s\n", kw, len(targets), set.Rounds, set.Slice)
	hits0 := dedupeHits(servers)
	t0 := time.Now()
	out, err := cs.runCaptured(ctx, "load", self, nil, "load", "--plan", planFile)
	if err != nil {
		return kr, err
	}
	if h := dedupeHits(servers); h >= 0 && hits0 >= 0 {
		kr.DedupeHits = h - hits0
	}
	fmt.Fprintf(os.Stderr, "wxbench: %q: load done in %s\n", kw, time.Since(t0).Round(time.Millisecond))
	if err := json.Unmarshal(out, &kr.Slices); err != nil {
		return kr, fmt.Errorf("load's report: %w", err)
	}
	kr.summarise()
	return kr, nil
}

// sane checks the expected answer is the one the keyword asks for, not
// an error or the help text that both servers could give alike.
func sane(kw string, r *wechatsim.Reply) error {
	switch kw {
	case "最新":
		latest, err := latestExample()
		if err != nil {
			return err
		}
		no := fmt.Sprintf("No.%d", latest.Number)
		if r.MsgType != "text" || !strings.Contains(r.Content, no) || !strings.Contains(r.Content, latest.Sections[0].Items[0].TitleZH) {
			return fmt.Errorf("%q: want the table of contents of %s (the latest example issue), got %s %q", kw, no, r.MsgType, r.Content)
		}
	case "GDPR":
		if r.MsgType != "text" || !strings.Contains(r.Content, "GDPR") {
			return fmt.Errorf("%q: want search results naming GDPR, got %s %q", kw, r.MsgType, r.Content)
		}
	}
	if r.MsgType == "" || (r.Content == "" && len(r.Articles) == 0) {
		return fmt.Errorf("%q: empty answer", kw)
	}
	return nil
}

// retryCheck sends one message to the first replica and the same push, as
// WeChat's retry, to the last one: the same reply must come back.
func retryCheck(ctx context.Context, s *server) error {
	acct := benchAccount()
	now := time.Now()
	p, err := acct.Seal(wechatsim.Text("oBenchRetry", benchUser, "GDPR", now.UnixNano()/1000, now.Unix()), wechatsim.Safe, now)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var first *wechatsim.Reply
	for _, addr := range []string{s.addrs[0], s.addrs[len(s.addrs)-1]} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, err := acct.Send(client, "http://"+addr+webhookPath, p)
		if err != nil {
			return err
		}
		if first == nil {
			first = r
		} else if string(r.Plain) != string(first.Plain) {
			return fmt.Errorf("the retry got %q, the first try %q", r.Content, first.Content)
		}
	}
	return nil
}

// machineInfo describes where the figures come from.
type machineInfo struct {
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"go_version"`
	Redis      string `json:"redis_version"`
	CPUModel   string `json:"cpu_model"`
	LoadBefore string `json:"loadavg_before"`
	LoadAfter  string `json:"loadavg_after"`
	Started    string `json:"started"`
}

func machine(ctx context.Context, redisAddr string) machineInfo {
	m := machineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Redis: redisVersion(ctx, redisAddr),
		LoadBefore: loadAverage(), Started: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// latestExample is the newest of the example issues wxbot serves.
func latestExample() (*newsletter.Issue, error) {
	files, err := fs.Glob(examples.FS, "*.md")
	if err != nil {
		return nil, err
	}
	var latest *newsletter.Issue
	for _, f := range files {
		data, err := examples.FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		iss, _, err := newsletter.Parse(f, data)
		if err != nil {
			return nil, err
		}
		if latest == nil || iss.Number > latest.Number {
			latest = iss
		}
	}
	if latest == nil || len(latest.Sections) == 0 || len(latest.Sections[0].Items) == 0 {
		return nil, errors.New("no example issue with items")
	}
	return latest, nil
}

// dedupeHits sums wxbot_webhook_dedupe_hits_total over every wxbot serve
// process (from its /metrics); -1 when one cannot be read.
func dedupeHits(servers []*server) int {
	client := &http.Client{Timeout: 5 * time.Second}
	seen := map[string]bool{}
	sum := 0
	for _, s := range servers {
		if s.name == "reference" || s.floor {
			continue
		}
		for _, addr := range s.addrs {
			if seen[addr] {
				continue // wxbot-xN shares its first process with wxbot
			}
			seen[addr] = true
			n, err := metricValue(client, addr, "wxbot_webhook_dedupe_hits_total")
			if err != nil {
				return -1
			}
			sum += int(n)
		}
	}
	return sum
}

// metricValue reads one unlabelled metric from a wxbot serve's /metrics.
func metricValue(client *http.Client, addr, name string) (float64, error) {
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, nil // not counted yet
}
