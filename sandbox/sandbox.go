// Package sandbox is a local fake of the WeChat Official Account API: the
// endpoints wxbot uses, behaving as ../shared/WECHAT.md says WeChat does —
// expiring access tokens checked on every call, the platform's limits and
// errcodes, clientmsgid dedupe for 24 h, MASSSENDJOBFINISH and
// PUBLISHJOBFINISH pushed (signed, encrypted in safe mode) to a webhook —
// plus fault injection and a record of every call. It serves `wxbot
// sandbox` for trials and, as an http.Handler on httptest.NewServer, the
// integration tests of every package that talks to WeChat.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Built-in credentials of the sandbox account, used when Options leave
// them empty. They are made up and public: point wxbot at the sandbox with
// WXBOT_WECHAT_APP_ID=DefaultAppID WXBOT_WECHAT_APP_SECRET=DefaultAppSecret.
const (
	DefaultAppID     = "wxsandbox00000001"
	DefaultAppSecret = "sandboxsecret00000000000000000001"
	DefaultToken     = "sandboxtoken"
	// AccountID is the account's original id (gh_…), ToUserName of pushes.
	AccountID = "gh_sandbox000001"
)

// Options configure a sandbox.
type Options struct {
	AppID, AppSecret string
	// Token and EncodingAESKey sign and (when the key is set) encrypt the
	// pushes to Webhook, as WeChat's safe mode does. Without a key pushes
	// are plaintext.
	Token          string
	EncodingAESKey string
	// Webhook receives MASSSENDJOBFINISH and PUBLISHJOBFINISH; empty: no pushes.
	Webhook string
	// PushDelay is how long a mass send or publication takes before its
	// push (default 1 s).
	PushDelay time.Duration
	// AccountType is subscription (1 successful mass send a day, 45028
	// after) or service (100 mass-send requests a day).
	AccountType string
	// TokenTTL is the life of an access token (default 2 h, as WeChat's).
	TokenTTL time.Duration
	// Followers, when set, are the only openids that follow the account:
	// custom/send, preview and tagging refuse others (43004, 40003);
	// user/info answers them subscribe 0, as WeChat does. Empty: every openid is taken for a follower.
	Followers []string
	// Unverified makes the publish APIs answer 48001, as for unverified
	// accounts since July 2025.
	Unverified bool
	// PublishStatus is how every freepublish ends, in freepublish/get and
	// PUBLISHJOBFINISH: 0 published (default), or one of WeChat's failures
	// — 2 original-content check failed, 3 failed, 4 rejected by review,
	// 5 deleted by the author, 6 banned by the platform — with every
	// article in fail_idx.
	PublishStatus int
	// MassStatus is the Status every mass send reports in MASSSENDJOBFINISH:
	// "send success" (default), or a failure such as "send fail" or
	// "err(10001)" (suspected advertising), which also makes
	// message/mass/get answer SEND_FAIL and the counts zero.
	MassStatus string
	// MaxPermanentQR bounds permanent QR codes (WeChat: 100,000).
	MaxPermanentQR int
	// MaxClientMsgID is the longest clientmsgid sendall takes before it
	// answers 45067: 32 bytes by default, what developers observe (WeChat
	// documents 64, but 34- and 36-byte ids were refused).
	MaxClientMsgID int
	// EmptyArticleURLResult makes MASSSENDJOBFINISH carry an empty
	// ArticleUrlResult, as developers report of WeChat: the article URLs
	// are then only in freepublish/batchget (sandbox/published.go).
	EmptyArticleURLResult bool
	// MassSendsUnlisted leaves mass sends out of freepublish/batchget and
	// getarticle, which then list publications only.
	MassSendsUnlisted bool
	// PublishGetPerDay bounds freepublish/get calls a day (Beijing time)
	// before 45009: 100 by default, the limit developers report.
	PublishGetPerDay int
	// CustomWindow models WeChat's customer-service window: custom/send
	// answers 45015 unless the recipient wrote to the account in the last
	// 48 h (UserWrote or POST /sandbox/wrote), and 45047 after 5 messages
	// since that user's last message. Off: every follower is inside the
	// window and there is no quota.
	CustomWindow bool
	// Faults are injected from the start; more can be added later with
	// AddFault or POST /sandbox/faults.
	Faults []Fault
	// Log receives one line per call; nil discards.
	Log *slog.Logger
}

// Server is the fake WeChat API, an http.Handler. Close stops pending pushes.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	log    *slog.Logger
	client *http.Client // for pushes

	mu     sync.Mutex
	offset time.Duration // Advance moves the sandbox's clock
	st     *state
	calls  []Call
	faults []*Fault

	wg     sync.WaitGroup
	done   chan struct{}
	closed sync.Once
}

// Call is one request the sandbox received, as listed by GET /sandbox/calls.
type Call struct {
	Endpoint string    `json:"endpoint"`
	Method   string    `json:"method"`
	Time     time.Time `json:"time"`
	// Body summarises the request: its JSON with long strings cut, or the
	// uploaded file's name and size. Secrets are never recorded.
	Body    string `json:"body,omitempty"`
	ErrCode int    `json:"errcode"`
	// Fault names the fault injected into this call, if any.
	Fault string `json:"fault,omitempty"`
	// Lost is true when the effect happened but the answer was not sent.
	Lost bool `json:"lost,omitempty"`
}

const maxCalls = 5000

// New builds a sandbox. Serve it with http.Server or httptest.NewServer.
func New(opts Options) *Server {
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.AppSecret == "" {
		opts.AppSecret = DefaultAppSecret
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.PushDelay <= 0 {
		opts.PushDelay = time.Second
	}
	if opts.AccountType == "" {
		opts.AccountType = "subscription"
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 2 * time.Hour
	}
	if opts.MaxPermanentQR <= 0 {
		opts.MaxPermanentQR = 100000
	}
	if opts.MaxClientMsgID <= 0 {
		opts.MaxClientMsgID = maxClientMsgID
	}
	if opts.PublishGetPerDay <= 0 {
		opts.PublishGetPerDay = 100
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts:   opts,
		log:    log,
		client: &http.Client{Timeout: 5 * time.Second},
		done:   make(chan struct{}),
	}
	s.st = newState(opts)
	for _, f := range opts.Faults {
		if err := f.validate(); err != nil {
			log.Error("sandbox: fault ignored", slog.Any("error", err))
			continue
		}
		s.faults = append(s.faults, &f)
	}
	s.routes()
	return s
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Close stops pushes that have not been sent yet and waits for those in flight.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.wg.Wait()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/cgi-bin/", s.serveAPI)
	s.mux.HandleFunc("/datacube/", s.serveAPI) // datacube.go
	s.mux.HandleFunc("GET /sandbox/calls", s.serveCalls)
	s.mux.HandleFunc("POST /sandbox/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "reset"})
	})
	s.mux.HandleFunc("GET /sandbox/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	s.mux.HandleFunc("POST /sandbox/faults", s.serveAddFaults)
	s.mux.HandleFunc("POST /sandbox/followers", s.serveFollowers)
	s.mux.HandleFunc("POST /sandbox/wrote", s.serveWrote)
	s.mux.HandleFunc("GET /sandbox/state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Snapshot())
	})
	s.mux.HandleFunc("GET /sandbox/media/{id}", s.serveMedia)
	s.mux.HandleFunc("GET /sandbox/drafts/{id}/{idx}", s.serveDraftArticle)
	s.mux.HandleFunc("GET /{$}", s.serveIndex)
}

// now is the sandbox's clock: the wall clock moved by Advance.
func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.offset)
}

// Advance moves the sandbox's clock forward: tokens expire, clientmsgid
// dedupe windows close and the day's quota resets as if d had passed.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// Reset forgets everything: tokens, materials, drafts, sends, tags, menu,
// QR codes, calls and faults. The options stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = newState(s.opts)
	s.calls = nil
	s.faults = nil
}

// Calls returns the calls received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many calls of endpoint succeeded (errcode 0, answer sent).
func (s *Server) Count(endpoint string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Endpoint == endpoint && c.ErrCode == 0 && !c.Lost && c.Fault == "" {
			n++
		}
	}
	return n
}

func (s *Server) serveCalls(w http.ResponseWriter, r *http.Request) {
	calls := s.Calls()
	if ep := r.URL.Query().Get("endpoint"); ep != "" {
		kept := calls[:0]
		for _, c := range calls {
			if c.Endpoint == ep {
				kept = append(kept, c)
			}
		}
		calls = kept
	}
	if calls == nil {
		calls = []Call{}
	}
	writeJSON(w, http.StatusOK, calls)
}

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, `wxbot sandbox: a local fake of the WeChat Official Account API.

AppID %s. Point wxbot at it with WXBOT_WECHAT_API_BASE=<this URL>.
  GET  /sandbox/calls[?endpoint=draft/add]  what it received
  GET  /sandbox/state                       drafts, sends, tags, menu, QR codes, messages, pushes
  POST /sandbox/reset                       forget everything
  GET  /sandbox/faults, POST /sandbox/faults  pending faults; add {"kind":"fail|lose|latency|revoke","endpoint":"...","count":1}
  POST /sandbox/followers                   {"add":["openid"],"remove":["openid"]}
  POST /datacube/getarticlesummary …        data statistics for the mass sends, up to yesterday (Beijing)
`, s.opts.AppID)
}

func (s *Server) serveFollowers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": 47001, "errmsg": "data format error: " + err.Error()})
		return
	}
	s.AddFollowers(req.Add...)
	s.mu.Lock()
	for _, o := range req.Remove {
		delete(s.st.followers, o)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok"})
}

// AddFollowers makes openids followers (and turns on the follower check).
func (s *Server) AddFollowers(openids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range openids {
		if o != "" {
			s.st.followers[o] = true
			s.st.strictFollowers = true
		}
	}
}

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.st.media[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	_, _ = w.Write(data)
}

// serveDraftArticle shows a draft's article at phone width, as draft/get's url.
func (s *Server) serveDraftArticle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d := s.st.drafts[r.PathValue("id")]
	var a *Article
	if d != nil {
		for i := range d.Articles {
			if fmt.Sprint(i) == r.PathValue("idx") {
				art := d.Articles[i]
				a = &art
			}
		}
	}
	s.mu.Unlock()
	if a == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>%s</title>"+
		"<body style=\"max-width:414px;margin:0 auto;padding:16px\"><h1 style=\"font-size:22px\">%s</h1><p style=\"color:#888\">%s</p>%s</body>",
		html.EscapeString(a.Title), html.EscapeString(a.Title), html.EscapeString(a.Author), a.Content)
}

// apiHandler answers one endpoint. It runs with s.mu held.
type apiHandler func(s *Server, c *apiCall) answer

type route struct {
	method    string
	needToken bool
	handle    apiHandler
}

// apiCall is what a handler sees of a request.
type apiCall struct {
	r        *http.Request
	endpoint string
	body     []byte
	now      time.Time
	host     string // scheme://host of the sandbox as the caller reached it
}

// answer is a handler's reply: JSON with an errcode, or raw bytes.
type answer struct {
	status      int
	errcode     int
	json        map[string]any
	raw         []byte
	contentType string
	after       func() // runs after the answer, without the lock (pushes)
}

func ok(fields map[string]any) answer {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["errcode"] = 0
	if _, set := fields["errmsg"]; !set {
		fields["errmsg"] = "ok"
	}
	return answer{json: fields}
}

func fail(code int, msg string) answer {
	return answer{errcode: code, json: map[string]any{"errcode": code, "errmsg": msg}}
}

var apiRoutes = map[string]route{
	"token":                       {http.MethodGet, false, (*Server).handleToken},
	"stable_token":                {http.MethodPost, false, (*Server).handleStableToken},
	"media/uploadimg":             {http.MethodPost, true, (*Server).handleUploadImg},
	"material/add_material":       {http.MethodPost, true, (*Server).handleAddMaterial},
	"draft/add":                   {http.MethodPost, true, (*Server).handleDraftAdd},
	"draft/update":                {http.MethodPost, true, (*Server).handleDraftUpdate},
	"draft/get":                   {http.MethodPost, true, (*Server).handleDraftGet},
	"draft/delete":                {http.MethodPost, true, (*Server).handleDraftDelete},
	"freepublish/submit":          {http.MethodPost, true, (*Server).handlePublishSubmit},
	"freepublish/get":             {http.MethodPost, true, (*Server).handlePublishGet},
	"message/mass/sendall":        {http.MethodPost, true, (*Server).handleSendAll},
	"message/mass/preview":        {http.MethodPost, true, (*Server).handlePreview},
	"message/mass/get":            {http.MethodPost, true, (*Server).handleMassGet},
	"message/mass/delete":         {http.MethodPost, true, (*Server).handleMassDelete},
	"freepublish/delete":          {http.MethodPost, true, (*Server).handlePublishDelete},
	"message/custom/send":         {http.MethodPost, true, (*Server).handleCustomSend},
	"qrcode/create":               {http.MethodPost, true, (*Server).handleQRCreate},
	"showqrcode":                  {http.MethodGet, false, (*Server).handleShowQR},
	"tags/create":                 {http.MethodPost, true, (*Server).handleTagCreate},
	"tags/get":                    {http.MethodGet, true, (*Server).handleTagGet},
	"tags/members/batchtagging":   {http.MethodPost, true, (*Server).handleBatchTagging},
	"tags/members/batchuntagging": {http.MethodPost, true, (*Server).handleBatchUntagging},
	"menu/create":                 {http.MethodPost, true, (*Server).handleMenuCreate},
	"menu/get":                    {http.MethodGet, true, (*Server).handleMenuGet},
	"user/info":                   {http.MethodGet, true, (*Server).handleUserInfo},
}

// Endpoints lists the endpoints the sandbox implements.
func Endpoints() []string {
	out := make([]string, 0, len(apiRoutes))
	for k := range apiRoutes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const maxBody = 16 << 20

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	endpoint := strings.TrimPrefix(r.URL.Path, "/cgi-bin/")
	if strings.HasPrefix(r.URL.Path, "/datacube/") {
		endpoint = strings.TrimPrefix(r.URL.Path, "/")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return
	}
	call := Call{Endpoint: endpoint, Method: r.Method, Time: s.now()}
	rt, known := apiRoutes[endpoint]
	if !known {
		s.finish(w, &call, fail(48001, "api unauthorized: "+endpoint+" is not implemented by the sandbox"), false)
		return
	}
	call.Body = summarize(r, body)
	if len(body) > maxBody {
		s.finish(w, &call, fail(45001, "media size out of limit"), false)
		return
	}
	if r.Method != rt.method {
		code := 43002 // require POST method
		if rt.method == http.MethodGet {
			code = 43001
		}
		s.finish(w, &call, fail(code, "require "+rt.method+" method"), false)
		return
	}

	faults := s.takeFaults(endpoint)
	lose := false
	for _, f := range faults {
		call.Fault = joinFault(call.Fault, f.Kind)
		switch f.Kind {
		case FaultLatency:
			select {
			case <-time.After(f.Delay.D()):
			case <-r.Context().Done():
				return
			}
		case FaultLose:
			lose = true
		}
	}
	for _, f := range faults {
		if f.Kind == FaultFail {
			code := f.Code
			if code == 0 {
				code = -1
			}
			s.finish(w, &call, fail(code, "system error (injected fault)"), false)
			return
		}
	}

	s.mu.Lock()
	for _, f := range faults {
		if f.Kind == FaultRevoke {
			s.st.revokeTokens()
		}
	}
	now := time.Now().Add(s.offset)
	c := &apiCall{r: r, endpoint: endpoint, body: body, now: now, host: hostOf(r)}
	var a answer
	if rt.needToken {
		a = s.checkToken(r.URL.Query().Get("access_token"), now)
	}
	if a.json == nil && a.raw == nil {
		a = rt.handle(s, c)
	}
	s.mu.Unlock()
	s.finish(w, &call, a, lose)
}

// finish writes (or loses) the answer and records the call.
func (s *Server) finish(w http.ResponseWriter, call *Call, a answer, lose bool) {
	call.ErrCode = a.errcode
	call.Lost = lose
	// Recorded before the answer leaves: whoever saw the answer (or the
	// closed connection) finds the call in /sandbox/calls.
	s.record(*call)
	s.log.Info("sandbox: call", slog.String("endpoint", call.Endpoint), slog.Int("errcode", call.ErrCode),
		slog.String("fault", call.Fault), slog.Bool("lost", call.Lost))
	if a.after != nil {
		defer a.after()
	}
	if lose {
		hj, canHijack := w.(http.Hijacker)
		if !canHijack {
			// HTTP/2: aborting the handler resets the stream, unanswered
			// (the deferred pushes still run).
			panic(http.ErrAbortHandler)
		}
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	status := a.status
	if status == 0 {
		status = http.StatusOK
	}
	if a.raw != nil {
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(a.raw)
		return
	}
	writeJSON(w, status, a.json)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	if len(s.calls) > maxCalls {
		s.calls = append([]Call(nil), s.calls[len(s.calls)-maxCalls:]...)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func hostOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// summarize describes a request body for the call log, without secrets.
func summarize(r *http.Request, body []byte) string {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/") {
		if up, found := parseUpload(r, body); found {
			return fmt.Sprintf("multipart media=%s (%d bytes)", up.filename, len(up.data))
		}
		return fmt.Sprintf("multipart (%d bytes)", len(body))
	}
	if len(body) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Sprintf("not JSON (%d bytes)", len(body))
	}
	v = trimJSON(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

// trimJSON cuts long strings and drops secrets from a decoded JSON value.
func trimJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if k == "secret" || k == "appsecret" {
				t[k] = "REDACTED"
				continue
			}
			t[k] = trimJSON(val)
		}
		return t
	case []any:
		for i := range t {
			t[i] = trimJSON(t[i])
		}
		return t
	case string:
		if r := []rune(t); len(r) > 80 {
			return string(r[:80]) + fmt.Sprintf("…(%d chars)", len(r))
		}
	}
	return v
}

func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// decodeJSON parses a request body, answering WeChat's 47001 on bad JSON.
func decodeJSON(body []byte, v any) *answer {
	if len(bytes.TrimSpace(body)) == 0 {
		a := fail(44002, "empty post data")
		return &a
	}
	if err := json.Unmarshal(body, v); err != nil {
		a := fail(47001, "data format error: "+err.Error())
		return &a
	}
	return nil
}

var errClosed = errors.New("sandbox closed")

// sleepOrDone waits d unless the sandbox closes first.
func (s *Server) sleepOrDone(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}
