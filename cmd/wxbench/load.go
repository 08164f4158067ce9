package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// loadPlan is what the load client is asked to do (wxbench writes it to a
// file and runs `wxbench load --plan FILE`).
type loadPlan struct {
	Keyword string        `json:"keyword"`
	Conns   int           `json:"connections"`
	Rounds  int           `json:"rounds"`
	Slice   time.Duration `json:"slice_ns"`
	Users   int           `json:"users"`
	// MsgIDBase is the first MsgId; every request carries the next one.
	MsgIDBase int64 `json:"msgid_base"`
	// Retries is the share of the requests to a server (not a floor) that
	// repeat a push it was sent in its previous slice.
	Retries float64       `json:"retries,omitempty"`
	Targets []loadTarget  `json:"targets"`
	Expect  expectedReply `json:"expect"`
}

// loadTarget is one server under test: where it listens and which
// processes to account its CPU to.
type loadTarget struct {
	Name      string   `json:"name"`
	Addrs     []string `json:"addrs"` // connections are spread over them
	PIDs      []int    `json:"pids"`
	RedisPIDs []int    `json:"redis_pids"`
	// Floor: a fixed answer, so a reply's ToUserName is not the sender's.
	Floor bool `json:"floor"`
}

// expectedReply is the answer every request must get (decrypted and
// compared on a sample).
type expectedReply struct {
	MsgType  string            `json:"msg_type"`
	Content  string            `json:"content,omitempty"`
	Articles []message.Article `json:"articles,omitempty"`
}

// sliceResult is what one slice of load on one target measured.
type sliceResult struct {
	Round     int           `json:"round"`
	Target    string        `json:"target"`
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"` // non-200 answers
	Checked   int           `json:"verified"`
	Retries   int           `json:"retries,omitempty"`   // of Requests, retries of an earlier slice's push
	Exhausted bool          `json:"exhausted,omitempty"` // ran out of pre-built requests before the slice ended
	Wall      time.Duration `json:"wall_ns"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	ServerCPU time.Duration `json:"server_cpu_ns"`
	RedisCPU  time.Duration `json:"redis_cpu_ns"`
	ClientCPU time.Duration `json:"client_cpu_ns"`
}

func newLoadCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "load",
		Short: "The load client: run a plan's slices and print what they measured as JSON",
		Long: `load is wxbench's load client, run by wxbench as its own process. It reads a
plan (targets, connections, slice length, rounds, the keyword and the
expected answer), and for each slice pre-builds as many distinct signed and
encrypted messages as the slice needs (every one a new MsgId), collects the
garbage, opens the connections, reads the CPU time of the target's
processes and of redis-server from /proc, sends the messages over raw
keep-alive HTTP/1.1 connections for the slice, reads the CPU time again, and
then decrypts and checks the first reply and one in 64 per connection. It prints the
slices' results as JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("plan")
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var p loadPlan
			if err := json.Unmarshal(data, &p); err != nil {
				return fmt.Errorf("load: plan: %w", err)
			}
			res, err := runPlan(p)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	cmd.Flags().String("plan", "", "the plan (JSON)")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

// checkEvery: one response in this many per connection (the first among
// them) is kept, decrypted and compared with the expected answer after the
// slice.
const checkEvery = 64

// maxPerSlice bounds the pre-built requests of one slice (memory: ~1 KB each).
const maxPerSlice = 200000

func (p loadPlan) validate() error {
	switch {
	case p.Conns < 1 || p.Conns > 1024:
		return errors.New("load: connections must be 1…1024")
	case p.Rounds < 1 || p.Rounds > 50:
		return errors.New("load: rounds must be 1…50")
	case p.Slice < 20*time.Millisecond || p.Slice > 30*time.Second:
		return errors.New("load: slice must be 20ms…30s")
	case p.Retries < 0 || p.Retries > 0.5:
		return errors.New("load: retries must be 0…0.5")
	case p.Users < 1 || len(p.Targets) == 0 || p.Keyword == "" || p.Expect.MsgType == "":
		return errors.New("load: plan needs users, targets, a keyword and the expected answer")
	}
	for _, t := range p.Targets {
		if len(t.Addrs) == 0 {
			return fmt.Errorf("load: target %s has no address", t.Name)
		}
		for _, a := range t.Addrs {
			if err := loopbackAddr(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// runPlan runs a warm-up slice per target (not reported: connections,
// caches and pools fill, and it tells how many requests a slice needs),
// then the rounds, each visiting every target once, starting one further
// along each round.
func runPlan(p loadPlan) ([]sliceResult, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	g := &generator{acct: benchAccount(), keyword: p.Keyword, users: p.Users, next: p.MsgIDBase}
	need := make([]int, len(p.Targets))
	// A floor does nothing with a message: it is sent the same ones again
	// and again (building fresh ones for its many requests would only make
	// the run longer; the client's work per request is the same).
	pools := make([]*requests, len(p.Targets))
	// The requests each target was last sent, where --retries takes its
	// retries from.
	last := make([]*requests, len(p.Targets))
	for i, t := range p.Targets {
		reqs, err := g.build(p.Conns * 100)
		if err != nil {
			return nil, err
		}
		r, err := runSlice(p, t, reqs, 0)
		if err != nil {
			return nil, fmt.Errorf("load: warm-up %s: %w", t.Name, err)
		}
		need[i], last[i] = estimate(p, r), reqs.sent(r)
		if t.Floor {
			if pools[i], err = g.build(min(need[i], floorPool)); err != nil {
				return nil, err
			}
			pools[i].cyclic = true
		}
	}
	var out []sliceResult
	for round := 1; round <= p.Rounds; round++ {
		for k := range p.Targets {
			i := (k + round - 1) % len(p.Targets)
			reqs := pools[i]
			if reqs == nil {
				var err error
				if reqs, err = g.build(need[i]); err != nil {
					return nil, err
				}
				reqs.retry(last[i], p.Retries)
			}
			r, err := runSlice(p, p.Targets[i], reqs, round)
			if err != nil {
				return nil, fmt.Errorf("load: round %d, %s: %w", round, p.Targets[i].Name, err)
			}
			need[i], last[i] = max(need[i], estimate(p, r)), reqs.sent(r)
			out = append(out, r)
		}
	}
	return out, nil
}

// sent is the part of rs that a slice sent (answered, all but the last
// few in flight at its end), fresh messages only.
func (rs *requests) sent(r sliceResult) *requests {
	n := min(len(rs.raw), max(0, r.Requests-r.Retries))
	out := &requests{}
	for i := 0; i < len(rs.raw) && len(out.raw) < n; i++ {
		if !rs.isRetry(i) {
			out.raw, out.from = append(out.raw, rs.raw[i]), append(out.from, rs.from[i])
		}
	}
	return out
}

func (rs *requests) isRetry(i int) bool { return rs.retries != nil && rs.retries[i] }

// retry makes a share of rs repeat pushes of prev, byte for byte, as
// WeChat's retries do (each of prev's messages at most once).
func (rs *requests) retry(prev *requests, share float64) {
	if share <= 0 || prev == nil || len(prev.raw) == 0 {
		return
	}
	step := max(2, int(1/share+0.5))
	rs.retries = make([]bool, len(rs.raw))
	for i, k := step/2, 0; i < len(rs.raw) && k < len(prev.raw); i, k = i+step, k+1 {
		rs.raw[i], rs.from[i], rs.retries[i] = prev.raw[k], prev.from[k], true
	}
}

// floorPool is how many distinct requests a floor is sent, over and over.
const floorPool = 20000

// estimate is how many requests a slice needs at the rate r measured, with room.
func estimate(p loadPlan, r sliceResult) int {
	rate := float64(r.Requests) / r.Wall.Seconds()
	if r.Exhausted {
		rate *= 2
	}
	return min(maxPerSlice, int(rate*p.Slice.Seconds()*1.5)+4*p.Conns)
}

// generator writes distinct signed, encrypted text messages.
type generator struct {
	acct    wechatsim.Account
	keyword string
	users   int
	next    int64 // MsgId
	sent    int   // messages written, for the sender's openid
}

func openidOf(i int) string { return fmt.Sprintf("oBench%022d", i) }

// requests are pre-built raw HTTP requests and the sender of each (an
// index for openidOf).
type requests struct {
	raw     [][]byte
	from    []int32
	cyclic  bool   // sent again from the start once all were sent (a floor's)
	retries []bool // which are retries of an earlier slice's pushes (--retries)
}

// build returns n requests, each with the next MsgId, sealed on every core
// (between slices: the servers are idle then).
func (g *generator) build(n int) (*requests, error) {
	rs := &requests{raw: make([][]byte, n), from: make([]int32, n)}
	first, firstUser := g.next+1, g.sent
	g.next += int64(n)
	g.sent += n
	now := time.Now()
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b bytes.Buffer
			for i := w; i < n; i += workers {
				u := (firstUser + i) % g.users
				p, err := g.acct.Seal(wechatsim.Text(openidOf(u), g.acct.UserName, g.keyword, first+int64(i), now.Unix()), wechatsim.Safe, now)
				if err != nil {
					errs[w] = err
					return
				}
				b.Reset()
				fmt.Fprintf(&b, "POST %s?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n",
					webhookPath, p.Query, len(p.Body))
				b.Write(p.Body)
				rs.raw[i] = bytes.Clone(b.Bytes())
				rs.from[i] = int32(u)
			}
		}()
	}
	wg.Wait()
	return rs, errors.Join(errs...)
}

// kept is a response body kept for checking, with the request it answered.
type kept struct {
	req  int
	body []byte
}

// conn is one connection of the load client and what it measured.
type conn struct {
	c       net.Conn
	lat     []time.Duration
	kept    []kept
	errors  int // non-200 answers
	retries int // answers to retries
	fail    error
}

// drive sends requests from rs (the next one not taken by another
// connection) once start closes, until the slice is over or rs runs out.
func (c *conn) drive(rs *requests, next *atomic.Int64, start <-chan struct{}, slice time.Duration) {
	br := bufio.NewReaderSize(c.c, 16<<10)
	n := len(rs.raw)
	<-start
	stopAt := time.Now().Add(slice)
	_ = c.c.SetDeadline(stopAt.Add(10 * time.Second)) // a server that hangs cannot hang the client
	for k := 0; ; k++ {
		i := int(next.Add(1) - 1)
		t0 := time.Now()
		if rs.cyclic {
			i %= n
		}
		if i >= n || t0.After(stopAt) {
			return
		}
		if _, err := c.c.Write(rs.raw[i]); err != nil {
			c.fail = err
			return
		}
		keep := k%checkEvery == 0 // the first answer on every connection, then one in 64
		status, body, err := readResponse(br, keep)
		if err != nil {
			c.fail = err
			return
		}
		c.lat = append(c.lat, time.Since(t0))
		if rs.isRetry(i) {
			c.retries++
		}
		switch {
		case status != 200:
			c.errors++
		case keep:
			c.kept = append(c.kept, kept{i, body})
		}
	}
}

// cpuTimes reads the CPU time of a target's servers, of its Redis and of
// this process.
func cpuTimes(t loadTarget) (server, red, client time.Duration, err error) {
	server, err1 := sumCPU(t.PIDs)
	red, err2 := sumCPU(t.RedisPIDs)
	client, err3 := procCPU(0)
	return server, red, client, errors.Join(err1, err2, err3)
}

// runSlice sends requests from rs to t for at most p.Slice and measures.
func runSlice(p loadPlan, t loadTarget, rs *requests, round int) (sliceResult, error) {
	res := sliceResult{Round: round, Target: t.Name}
	// The garbage of building is collected now, not during the slice.
	runtime.GC()
	conns := make([]*conn, p.Conns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.c.Close()
			}
		}
	}()
	for i := range conns {
		c, err := net.DialTimeout("tcp", t.Addrs[i%len(t.Addrs)], 2*time.Second)
		if err != nil {
			return res, err
		}
		conns[i] = &conn{c: c, lat: make([]time.Duration, 0, len(rs.raw)/p.Conns+16)}
	}
	var next atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.drive(rs, &next, start, p.Slice) }()
	}
	server0, redis0, client0, err := cpuTimes(t)
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Wall = time.Since(t0)
	server1, redis1, client1, err1 := cpuTimes(t)
	if err := errors.Join(err, err1); err != nil {
		return res, err
	}
	res.ServerCPU, res.RedisCPU, res.ClientCPU = server1-server0, redis1-redis0, client1-client0
	var all []time.Duration
	for _, c := range conns {
		if c.fail != nil {
			return res, c.fail
		}
		all = append(all, c.lat...)
		res.Errors += c.errors
		res.Retries += c.retries
		for _, k := range c.kept {
			if err := p.check(t, k.body, openidOf(int(rs.from[k.req]))); err != nil {
				return res, fmt.Errorf("a reply is wrong: %w", err)
			}
			res.Checked++
		}
	}
	if len(all) == 0 {
		return res, errors.New("no request completed")
	}
	res.Requests = len(all)
	res.Exhausted = !rs.cyclic && int(next.Load()) >= len(rs.raw) && res.Wall < p.Slice
	slices.Sort(all)
	res.P50 = all[len(all)*50/100]
	res.P99 = all[min(len(all)-1, len(all)*99/100)]
	return res, nil
}

// check decrypts a reply (its signature checked) and compares it with the
// expected answer; a server's reply must be addressed to the request's
// sender.
func (p loadPlan) check(t loadTarget, body []byte, openid string) error {
	r, err := benchAccount().Open(200, body)
	if err != nil {
		return err
	}
	if err := p.Expect.matches(r); err != nil {
		return err
	}
	if t.Floor {
		return nil
	}
	var to struct {
		To string `xml:"ToUserName"`
	}
	if err := xml.Unmarshal(r.Plain, &to); err != nil || to.To != openid {
		return fmt.Errorf("reply addressed to %q, the message came from %q", to.To, openid)
	}
	return nil
}

// matches compares a decoded reply with the expected answer.
func (e expectedReply) matches(r *wechatsim.Reply) error {
	if !r.Encrypted {
		return errors.New("reply not encrypted (safe mode)")
	}
	if r.MsgType != e.MsgType || r.Content != e.Content || !reflect.DeepEqual(normArticles(r.Articles), normArticles(e.Articles)) {
		return fmt.Errorf("answered %s %q (%d articles), want %s %q (%d articles)",
			r.MsgType, r.Content, len(r.Articles), e.MsgType, e.Content, len(e.Articles))
	}
	return nil
}

func normArticles(a []message.Article) []message.Article {
	if len(a) == 0 {
		return nil
	}
	return a
}

// readResponse reads one HTTP/1.1 response with a Content-Length body (all
// servers here send one; anything else is an error) and returns its status,
// and its body when keep is set.
func readResponse(br *bufio.Reader, keep bool) (int, []byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && bytes.EqualFold(h[:15], []byte("Content-Length:")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			if err != nil || length < 0 || length > 1<<20 {
				return 0, nil, fmt.Errorf("bad Content-Length %q", h)
			}
		}
		if len(h) > 19 && bytes.EqualFold(h[:18], []byte("Transfer-Encoding:")) {
			return 0, nil, fmt.Errorf("unexpected %q (the load client reads Content-Length bodies only)", h)
		}
	}
	if length < 0 {
		return 0, nil, errors.New("response without Content-Length")
	}
	if !keep {
		_, err := br.Discard(length)
		return status, nil, err
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, nil, err
	}
	return status, body, nil
}
