package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBins builds the real wxbot and wxbench binaries once for the tests
// (not under the race detector: the figures of a run under it would mean
// little, and its children would be ten times slower).
func buildBins(t *testing.T) (wxbot, wxbench string) {
	t.Helper()
	binsOnce.Do(func() {
		binsDir, binsErr = os.MkdirTemp("", "wxbench-test-")
		if binsErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", binsDir+string(filepath.Separator), // no DWARF: a faster link
			"github.com/lifang/wxbot/cmd/wxbot", "github.com/lifang/wxbot/cmd/wxbench").CombinedOutput()
		if err != nil {
			binsErr = fmt.Errorf("go build ./cmd/wxbot ./cmd/wxbench: %v\n%s", err, out)
		}
	})
	if binsErr != nil {
		t.Fatal(binsErr)
	}
	return filepath.Join(binsDir, "wxbot"), filepath.Join(binsDir, "wxbench")
}

var (
	binsOnce sync.Once
	binsDir  string
	binsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binsDir != "" {
		_ = os.RemoveAll(binsDir)
	}
	os.Exit(code)
}

// childrenOf lists the live processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(data, ')')
		f := bytes.Fields(data[i+1:])
		if len(f) > 1 && string(f[1]) == strconv.Itoa(pid) && string(f[0]) != "Z" {
			p, _ := strconv.Atoi(strings.Split(d, "/")[2])
			out = append(out, p)
		}
	}
	return out
}

// A whole run with tiny slices: two replicas on one redis-server, both
// keywords. The report has every server, every round and every figure;
// replies were decrypted and verified on every server; the retries got
// the first replies; nothing is left running.
func TestRunEndToEnd(t *testing.T) {
	wxbot, wxbench := buildBins(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, wxbench, "--wxbot", wxbot, "--rounds", "2", "--slice", "60ms", "--connections", "4",
		"--users", "20", "--replicas", "2", "--baseline", wxbot, "--baseline-env", "GOGC=400", "--retries", "0.2", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Its children, seen while it runs.
	seen := map[int]bool{}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	for running := true; running; {
		select {
		case err = <-done:
			running = false
		case <-time.After(50 * time.Millisecond):
			for _, c := range childrenOf(pid) {
				seen[c] = true
			}
		}
	}
	if err != nil {
		t.Fatalf("wxbench: %v\n%s", err, stderr.String())
	}
	if len(seen) < 6 { // redis-server, the reference, two wxbot serve, floors, load (and go build)
		t.Errorf("saw only %d children of wxbench", len(seen))
	}
	for c := range seen {
		if alive(c) {
			t.Errorf("child %d still running after wxbench ended", c)
		}
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Keywords) != 2 || rep.Keywords[0].Keyword != "最新" || rep.Keywords[1].Keyword != "GDPR" {
		t.Fatalf("keywords: %+v", rep.Keywords)
	}
	redisCPU := 0.0 // µs, of every wxbot server in both keywords (a few 10 ms ticks)
	wantNames := []string{"reference", "wxbot", "wxbot-baseline", "wxbot-x2", "http-floor", "tcp-floor"}
	for _, kr := range rep.Keywords {
		var names []string
		for _, s := range kr.Summary {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, wantNames) {
			t.Fatalf("%s: servers %v, want %v", kr.Keyword, names, wantNames)
		}
		if len(kr.Slices) != 2*len(wantNames) {
			t.Errorf("%s: %d slices, want %d", kr.Keyword, len(kr.Slices), 2*len(wantNames))
		}
		// Rotating order: round 2 does not start where round 1 did.
		if kr.Slices[0].Target == kr.Slices[len(wantNames)].Target {
			t.Errorf("%s: both rounds start with %s", kr.Keyword, kr.Slices[0].Target)
		}
		for _, s := range kr.Summary {
			if len(s.Rounds) != 2 || s.ReqPerSec <= 0 || s.P99ms < s.P50ms || s.P50ms <= 0 || s.Errors != 0 || s.Verified == 0 ||
				s.ServerUS < 0 || s.ClientUS < 0 || s.RatioMin > s.Ratio || s.Ratio > s.RatioMax {
				t.Errorf("%s %s: %+v", kr.Keyword, s.Name, s)
			}
			// CPU time comes in 10 ms ticks: tiny slices of a floor may
			// see none, the servers doing real work always do.
			wxbot := strings.HasPrefix(s.Name, "wxbot")
			// --retries 0.2: a fifth of a server's requests are WeChat's
			// retries (answered and verified like the rest); none to a floor.
			if floor := strings.HasSuffix(s.Name, "floor"); floor != (s.Retries == 0) || !floor && s.Retries > s.Requests/4+4 {
				t.Errorf("%s %s: %d retries in %d requests", kr.Keyword, s.Name, s.Retries, s.Requests)
			}
			if (wxbot || s.Name == "reference") && (s.ServerUS <= 0 || s.CoresBusy <= 0 || s.PerCore <= 0) {
				t.Errorf("%s %s: no CPU accounted: %+v", kr.Keyword, s.Name, s)
			}
			if wxbot {
				redisCPU += s.RedisUS * float64(s.Requests)
			}
		}
		// Every retry to wxbot was answered from its dedupe, and nothing else was.
		retries := 0
		for _, s := range kr.Summary {
			if strings.HasPrefix(s.Name, "wxbot") {
				retries += s.Retries
			}
		}
		if retries == 0 || kr.DedupeHits < retries || kr.DedupeHits > retries+8 {
			t.Errorf("%s: %d dedupe hits for %d retries to wxbot", kr.Keyword, kr.DedupeHits, retries)
		}
		if ref := kr.Summary[0]; ref.Ratio != 1 || ref.RedisUS != 0 && ref.RedisUS > kr.Summary[1].RedisUS {
			t.Errorf("%s: reference %+v", kr.Keyword, ref)
		}
	}
	if redisCPU <= 0 {
		t.Error("no redis-server CPU accounted to wxbot")
	}
	if !strings.Contains(rep.Keywords[0].Expect.Content, "No.55") || !strings.Contains(rep.Keywords[1].Expect.Content, "GDPR") {
		t.Errorf("expected answers: %+v", rep.Keywords)
	}
	if !slices.Equal(rep.RetryChecks, []string{"wxbot", "wxbot-baseline", "wxbot-x2"}) {
		t.Errorf("retry checks: %v", rep.RetryChecks)
	}

	// The same report as Markdown.
	var md bytes.Buffer
	rep.markdown(&md)
	for _, re := range []string{
		`(?m)^### 最新 \(text reply, \d+ bytes\)$`,
		`(?m)^\| wxbot-x2 \| [\d,]+ \| [\d.]+× \([\d.]+–[\d.]+\) \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ \+ [\d.]+ = [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d,]+ \| [1-9]\d* of \d+ \|$`,
		`(?m)^\| 2 \| [\d,]+ \(1\.00×, p99 [\d.]+ ms\) \|`,
		`Retry check .*: ok on wxbot, wxbot-baseline, wxbot-x2\.`,
		`wxbot-baseline is /\S+/wxbot with GOGC=400`,
		`(?m)^0 non-200 answers\. [1-9]\d* retries to wxbot, [1-9]\d* answers from its dedupe\.$`,
	} {
		if !regexp.MustCompile(re).MatchString(md.String()) {
			t.Errorf("markdown lacks %s:\n%s", re, md.String())
		}
	}

}

// syncBuffer is a bytes.Buffer a child writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	f := bytes.Fields(data[i+1:])
	return len(f) > 0 && string(f[0]) != "Z"
}

// A signal stops wxbench and every process it started, at once.
func TestSignalStopsChildren(t *testing.T) {
	wxbot, wxbench := buildBins(t)
	cmd := exec.Command(wxbench, "--wxbot", wxbot, "--rounds", "50", "--slice", "1s", "--connections", "2", "--cluster")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	seen := map[int]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "rounds ×") { // the load has started
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the load never started:\n%s", stderr.String())
		}
		for _, c := range childrenOf(cmd.Process.Pid) {
			seen[c] = true
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	for _, c := range childrenOf(cmd.Process.Pid) {
		seen[c] = true
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("wxbench did not stop within 10s of SIGTERM")
	}
	if len(seen) < 7 { // 4 redis-server, the reference, wxbot serve ×2, floors, load
		t.Errorf("saw only %d children", len(seen))
	}
	time.Sleep(200 * time.Millisecond)
	for c := range seen {
		if alive(c) {
			t.Errorf("child %d still running after wxbench stopped", c)
		}
	}
}

// Traffic goes to loopback only, and bad flags are usage errors.
func TestRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"serve-tcp", "--addr", "10.1.2.3:8080"},
		{"serve-http", "--addr", "example.com:80"},
		{"--rounds", "0"},
		{"--replicas", "4"},
		{"--slice", "1ms"},
		{"--retries", "0.9"},
		{"--wxbot-env", "WXBOT_REDIS_ADDR=10.0.0.1:6379"},
	} {
		var stderr bytes.Buffer
		root := newRootCmd()
		root.SetErr(&stderr)
		if code := execute(t.Context(), root, args, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr.String())
		}
	}
	for kv, ok := range map[string]bool{"GOGC=400": true, "WXBOT_BOT_PAGE_SIZE=3": true, "WXBOT_REDIS_ADDR=10.0.0.1:6379": false,
		"WXBOT_HTTP_ADDR=:80": false, "WXBOT_WECHAT_TOKEN=x": false, "nothing": false} {
		if (checkEnv(kv) == nil) != ok {
			t.Errorf("checkEnv(%q) = %v", kv, checkEnv(kv))
		}
	}
	p := loadPlan{Keyword: "x", Conns: 1, Rounds: 1, Slice: time.Second, Users: 1, Expect: expectedReply{MsgType: "text"},
		Targets: []loadTarget{{Name: "a", Addrs: []string{"192.168.1.1:80"}}}}
	if _, err := runPlan(p); err == nil {
		t.Error("load accepted a non-loopback target")
	}
}

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		line string
		want time.Duration
		bad  bool
	}{
		{"1234 (redis-server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 4 0 100 1000 10", 2800 * time.Millisecond, false},
		{"77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1", 100 * time.Millisecond, false},
		{"77 (short) R 1 2 3", 0, true},
		{"garbage", 0, true},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0", 0, true},
	} {
		got, err := parseStat([]byte(c.line))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseStat(%q) = %v, %v", c.line, got, err)
		}
	}
	if d, err := procCPU(0); err != nil || d < 0 {
		t.Errorf("own CPU: %v %v", d, err)
	}
}

// The docs' wxbench commands name real subcommands and flags.
func TestDocsCommandsExist(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	files = append(files, filepath.Join("..", "..", "README.md"))
	n := 0
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, args := range wxbenchCommands(line) {
				n++
				if len(args) > 0 {
					seen[args[0]] = true
				}
				if problem := checkCommand(args); problem != "" {
					t.Errorf("%s:%d: wxbench %s: %s", filepath.Base(f), i+1, strings.Join(args, " "), problem)
				}
			}
		}
	}
	if n < 3 {
		t.Fatalf("only %d wxbench commands found in the docs: docs/benchmarks.md shows how to run it", n)
	}
	for _, sub := range newRootCmd().Commands() {
		if sub.Runnable() && !seen[sub.Name()] && sub.Name() != "help" && sub.Name() != "completion" {
			t.Errorf("wxbench %s is not in the docs", sub.Name())
		}
	}
	// The check itself catches what it should.
	if checkCommand([]string{"--bogus"}) == "" || checkCommand([]string{"report", "--rounds", "2"}) == "" ||
		checkCommand([]string{"--replicas", "2", "--cluster"}) != "" || len(wxbenchCommands("run `go run ./cmd/wxbench --json` now")) != 1 {
		t.Error("checkCommand or wxbenchCommands is broken")
	}
}

var wxbenchRE = regexp.MustCompile("(?:^|[\\s`/(])wxbench((?:[ \t]+[^`|;&#>)]+)?)")

// wxbenchCommands finds `wxbench …` invocations on a line (code or inline
// span) and returns their words, placeholders and all.
func wxbenchCommands(line string) [][]string {
	var out [][]string
	for _, m := range wxbenchRE.FindAllStringSubmatch(line, -1) {
		var args []string
		for _, w := range strings.Fields(m[1]) {
			if w = strings.Trim(w, "[]{}\\,…\"'"); w != "" {
				args = append(args, w)
			}
		}
		out = append(out, args)
	}
	return out
}

func checkCommand(args []string) string {
	c := newRootCmd()
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		var next = c
		for _, sub := range c.Commands() {
			if sub.Name() == args[0] {
				next = sub
			}
		}
		if next == c {
			break // an argument or prose after the command
		}
		c, args = next, args[1:]
	}
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if c.Flags().Lookup(name) == nil && name != "help" {
				return "flag --" + name + " does not exist"
			}
		}
	}
	return ""
}
