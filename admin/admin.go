// Package admin serves the editor's pages on `wxbot serve`: /admin lists
// the issues with where each stands in the publishing pipeline, the
// schedule, the last broadcasts with WeChat's counts and the QR campaigns
// with the followers they brought; /admin/issues/{n}/preview shows an issue's
// articles exactly as drafted, at phone width. The pages are plain
// server-rendered HTML that load nothing from elsewhere, behind a login with
// admin.token (a session in Redis, ended by logout or after
// admin.session_ttl) or the token as a bearer; failed logins are limited
// per client.
// The package declares the small interfaces it reads through; cmd/wxbot
// adapts the archive, the publisher and the subscriber service to them.
package admin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/subscribers"
)

// Issues is the archive of parsed issues the chat answers from.
// *archive.Archive implements it.
type Issues interface {
	All() []*newsletter.Issue
	Get(n int) (*newsletter.Issue, bool)
}

// Status is where one issue stands in the publishing pipeline.
type Status struct {
	Number      int
	State       string // parsed … finished, failed, cancelled
	Goal        string
	Mode        string
	File        string
	Articles    int
	Due         time.Time // when it is (or was) to be sent
	SentAt      time.Time
	FinishedAt  time.Time
	Updated     time.Time
	MsgID       int64
	MassStatus  string // WeChat's status of the mass send (e.g. SEND_SUCCESS)
	TotalCount  int    // WeChat's counts from MASSSENDJOBFINISH
	FilterCount int
	SentCount   int
	ErrorCount  int
	URLs        []string
	ErrCode     int
	Explanation string // a failed issue's reason in plain words
	// Title and Date tell issues apart: the first article's title and the
	// masthead month (YYYY.MM), from the issue file.
	Title string
	Date  string
	// History is the audit trail: every change, with who made it.
	History      []Event
	ApprovedBy   string
	ApprovedAt   time.Time
	RejectedBy   string
	RejectReason string
	RetractedBy  string
	RetractedAt  time.Time
}

// Pipeline is the publisher, read-only.
type Pipeline interface {
	// Statuses lists every issue the pipeline knows.
	Statuses(ctx context.Context) ([]Status, error)
	// Draft returns issue n and its articles as drafted in WeChat, or a
	// nil draft when the pipeline has not rendered n.
	Draft(ctx context.Context, n int) (*newsletter.Issue, *render.Draft, error)
	// NextSlot is the schedule's next broadcast slot after t.
	NextSlot(t time.Time) time.Time
}

// Campaigns reports what each QR campaign brought and makes new ones.
// *subscribers.Service implements it.
type Campaigns interface {
	Stats(ctx context.Context) ([]subscribers.SceneStats, error)
	Campaigns(ctx context.Context) ([]subscribers.Campaign, error)
	CreateCampaign(ctx context.Context, scene string, permanent bool, expire time.Duration) (subscribers.Campaign, []byte, error)
}

// Options are the pages' sources; Token, Issues, Sessions and Limiter are
// required.
type Options struct {
	// Token is admin.token: typed into the login form as the user admin,
	// or sent by scripts as Authorization: Bearer.
	Token string
	// Users are admin.users: name → bcrypt hash of the password.
	Users map[string]string
	// Workflow is what the editors may do; nil: the pages are read-only.
	Workflow Workflow
	// ImageSources are origins besides https: the preview's images may
	// come from (the sandbox's http address in tests and demos).
	ImageSources []string
	// Sessions keeps the logins; Limiter counts failed ones per client.
	Sessions *SessionStore
	Limiter  *LoginLimiter
	// TrustedProxies are http.trusted_proxies: their X-Forwarded-For names
	// the client whose failures are counted.
	TrustedProxies []netip.Prefix
	Issues         Issues
	Pipeline       Pipeline   // nil: no publisher in this process
	Campaigns      Campaigns  // nil: campaigns not shown
	Readership     Readership // nil: /admin/readership says so (readership.go)
	// Render renders an issue that the pipeline has not drafted.
	Render   render.Options
	Location *time.Location // times are shown here; nil means UTC
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves /admin and /admin/…; mount it on both.
type Handler struct {
	o      Options
	realm  string         // sessions made with this admin.token
	public *http.ServeMux // the login form
	mux    *http.ServeMux // the pages behind a login
	cross  *http.CrossOriginProtection
	// dummy is a bcrypt hash compared against for an unknown name, so a
	// wrong name takes as long as a wrong password.
	dummy  []byte
	csp    string
	imgSrc string // the CSP's img-src sources
}

// CookieName is the session cookie set by a login.
const CookieName = "wxbot_admin"

// loginCookie carries the login form's CSRF token (double submit): the
// form must come back with the value this browser was given.
const loginCookie = "wxbot_admin_login"

// LoginPath is the login form.
const LoginPath = "/admin/login"

// user is who a login with admin.token is: one shared identity until the
// pages know named editors.
const user = "admin"

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("admin").Funcs(template.FuncMap{
	"join":  strings.Join,
	"t":     func(lang, key string, kv ...string) string { return say(lang, key, kv...) },
	"state": stateWord,
	"itoa":  strconv.Itoa,
	"inc":   func(i int) int { return i + 1 },
}).ParseFS(templateFS, "templates/*.tmpl"))

// New builds the pages. An empty token is refused: the caller leaves the
// pages unmounted instead (404), so they are never open by accident.
func New(o Options) (*Handler, error) {
	if o.Token == "" {
		return nil, errors.New("admin: admin.token is empty")
	}
	if o.Issues == nil {
		return nil, errors.New("admin: no issues")
	}
	if o.Sessions == nil || o.Limiter == nil {
		return nil, errors.New("admin: no session store or login limiter")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// A fingerprint, not the token: Redis never holds the token.
	mac := hmac.New(sha256.New, []byte(o.Token))
	mac.Write([]byte("wxbot admin session realm v1"))
	h := &Handler{o: o, realm: hex.EncodeToString(mac.Sum(nil))[:32], public: http.NewServeMux(), mux: http.NewServeMux(), cross: http.NewCrossOriginProtection()}
	cost := bcrypt.MinCost
	for name, hash := range o.Users {
		c, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, fmt.Errorf("admin: admin.users: %s: not a bcrypt hash", name)
		}
		cost = max(cost, c)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("wxbot: no such user"), cost)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	h.dummy = dummy
	img := "'self' https: data:"
	for _, src := range o.ImageSources {
		if u, err := url.Parse(src); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(u.Host, " ;'") {
			img += " " + u.Scheme + "://" + u.Host
		}
	}
	h.imgSrc = img
	h.csp = "default-src 'none'; style-src 'unsafe-inline'; img-src " + img + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	h.public.HandleFunc("GET "+LoginPath, h.loginForm)
	h.public.HandleFunc("POST "+LoginPath, h.login)
	h.mux.HandleFunc("GET /admin", h.dashboard)
	h.mux.HandleFunc("GET /admin/{$}", h.dashboard)
	h.mux.HandleFunc("GET /admin/issues/{n}/preview", h.preview)
	h.mux.HandleFunc("GET /admin/readership", h.readershipPage)
	h.mux.HandleFunc("POST /admin/logout", h.logout)
	h.routeWorkbench()
	return h, nil
}

// ServeHTTP serves the login form to anyone and the pages to a live
// session or a bearer of the token.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	// The preview shows the articles' own images (WeChat's mmbiz URLs, over
	// https); nothing else is loaded, no script runs, and forms post only
	// here (the login and logout).
	hd.Set("Content-Security-Policy", h.csp)
	h.rememberLang(w, r)

	if r.URL.Path == LoginPath {
		h.public.ServeHTTP(w, r)
		return
	}
	if r.URL.Query().Has("token") {
		// The token no longer travels in addresses (they end up in proxy
		// logs and the history): an old ?token= link leads to the form,
		// without the token.
		h.toLogin(w, r)
		return
	}
	ctx := r.Context()
	client := clientAddr(r, h.o.TrustedProxies)
	if auth := r.Header.Get("Authorization"); auth != "" {
		// Scripts: every request carries the token, and a wrong one counts
		// as a failed login like the form's.
		if !h.allow(w, r, client) {
			return
		}
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !h.equal(strings.TrimSpace(tok)) {
			h.failed(ctx, client)
			h.refuse(w, r)
			return
		}
		h.mux.ServeHTTP(w, r)
		return
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		h.toLogin(w, r)
		return
	}
	sess, err := h.session(ctx, c.Value)
	if errors.Is(err, ErrNoSession) {
		// Expired, revoked (logout) or forged: log in again.
		http.SetCookie(w, h.cookie(r, CookieName, "", "/admin", -1))
		h.toLogin(w, r)
		return
	}
	if err != nil {
		h.o.Log.ErrorContext(ctx, "admin: session store", slog.Any("error", err))
		h.unavailable(w)
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(ctx, sessionKey{}, sess)))
}

type sessionKey struct{}

// session is the live session with this ID made with the current
// admin.token; one made with a previous token is ended.
func (h *Handler) session(ctx context.Context, id string) (Session, error) {
	sess, err := h.o.Sessions.Lookup(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if sess.Realm != h.realmOf(sess.User) {
		if err := h.o.Sessions.Revoke(ctx, id); err != nil {
			h.o.Log.WarnContext(ctx, "admin: end a session of a previous token", slog.Any("error", err))
		}
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// sessionOf is the login behind a request, false for a bearer.
func sessionOf(r *http.Request) (Session, bool) {
	s, ok := r.Context().Value(sessionKey{}).(Session)
	return s, ok
}

// realmOf binds a user's sessions to admin.token and the user's hash: a
// new token, a new password or a removed user ends them.
func (h *Handler) realmOf(name string) string {
	if name == user {
		return h.realm
	}
	hash, ok := h.o.Users[name]
	if !ok {
		return "" // never a stored realm: the session ends
	}
	mac := hmac.New(sha256.New, []byte(h.o.Token))
	mac.Write([]byte("wxbot admin user realm v1\x00" + name + "\x00" + hash))
	return hex.EncodeToString(mac.Sum(nil))[:32]
}

// authenticate checks a name and password in constant time as far as the
// answer goes: an unknown name costs a bcrypt comparison like a known one.
func (h *Handler) authenticate(name, password string) (string, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == user {
		return user, h.equal(password)
	}
	hash, ok := h.o.Users[name]
	if !ok || len(password) > 72 {
		_ = bcrypt.CompareHashAndPassword(h.dummy, []byte(password))
		return "", false
	}
	return name, bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

func (h *Handler) equal(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(h.o.Token)) == 1
}

// allow answers 429 and returns false while client may not try a login;
// when the count cannot be read it answers 503: without it the limit
// would be off exactly when Redis is under strain.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, client string) bool {
	wait, err := h.o.Limiter.Blocked(r.Context(), client)
	if err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: login limit", slog.Any("error", err))
		h.unavailable(w)
		return false
	}
	if wait <= 0 {
		return true
	}
	h.o.Log.WarnContext(r.Context(), "admin: login refused: too many failed attempts", slog.String("client", client))
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = fmt.Fprintf(w, "429 too many failed logins from your address: try again in %d s\n", secs)
	return false
}

// failed counts a failed login; the answer stays the refusal either way.
func (h *Handler) failed(ctx context.Context, client string) {
	if _, err := h.o.Limiter.Failed(ctx, client); err != nil {
		h.o.Log.ErrorContext(ctx, "admin: login limit", slog.Any("error", err))
	}
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request) {
	h.o.Log.WarnContext(r.Context(), "admin: refused a request without a valid token",
		slog.String("path", r.URL.Path), slog.String("client", clientAddr(r, h.o.TrustedProxies)))
	w.Header().Set("WWW-Authenticate", `Bearer realm="wxbot admin"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 unauthorized: log in at " + LoginPath + ", or send Authorization: Bearer … (admin.token)\n"))
}

func (h *Handler) unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("503 logins are unavailable: Redis does not answer; try again shortly\n"))
}

// toLogin sends a browser to the login form, to come back here after; a
// request that is not a page view gets 401.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.refuse(w, r)
		return
	}
	q := r.URL.Query()
	q.Del("token")
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	http.Redirect(w, r, LoginPath+"?"+url.Values{"next": {u.RequestURI()}}.Encode(), http.StatusSeeOther)
}

// cookie builds one of the pages' cookies: HttpOnly, SameSite=Strict,
// Secure when the browser came over TLS (directly or through a proxy that
// says so); maxAge < 0 deletes it.
func (h *Handler) cookie(r *http.Request, name, value, path string, maxAge int) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	}
	if maxAge > 0 {
		c.Expires = h.o.Now().Add(time.Duration(maxAge) * time.Second)
	}
	return c
}

// safeNext keeps a post-login destination on the pages: a path under
// /admin, never another site ("//evil", "/\\evil") or the form itself.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, LoginPath) || strings.ContainsAny(next, "\\\r\n") {
		return "/admin"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/admin"
	}
	return next
}

type loginData struct {
	base
	CSRF    string
	Next    string
	Problem string
}

// loginForm shows the form with a fresh CSRF token in its cookie; a
// browser already logged in goes on to where it was going.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if c, err := r.Cookie(CookieName); err == nil {
		if _, err := h.session(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	h.showLogin(w, r, http.StatusOK, next, "")
}

// lang of a login form: the choice on the page or the cookie.
func loginLang(r *http.Request) string {
	if l := r.PostFormValue("lang"); l == langEN || l == langZH {
		return l
	}
	return langOf(r)
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, next, problem string) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	http.SetCookie(w, h.cookie(r, loginCookie, tok, LoginPath, 3600))
	b := base{Lang: langOf(r), Path: LoginPath}
	b.Other = langEN
	if b.Lang == langEN {
		b.Other = langZH
	}
	h.pageStatus(w, r, status, "login", loginData{base: b, CSRF: tok, Next: next, Problem: problem})
}

// maxFormBytes bounds a login or logout form.
const maxFormBytes = 4 << 10

// login checks the form: same origin, its CSRF token, the client's
// failure count, then the token; a right one starts a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.cross.Check(r); err != nil {
		h.forbidden(w, r, "cross-origin login refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "400 bad request: unreadable form", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) {
		// Not this browser's form (or cookies are off): a new form.
		h.showLogin(w, r, http.StatusForbidden, next, say(loginLang(r), "login.expired"))
		return
	}
	client := clientAddr(r, h.o.TrustedProxies)
	if !h.allow(w, r, client) {
		return
	}
	// The old form's single field "token" is admin.token.
	password := r.PostForm.Get("password")
	if password == "" {
		password = r.PostForm.Get("token")
	}
	name, ok := h.authenticate(r.PostForm.Get("user"), password)
	if !ok {
		h.o.Log.WarnContext(ctx, "admin: failed login", slog.String("client", client))
		wait, err := h.o.Limiter.Failed(ctx, client)
		if err != nil {
			h.o.Log.ErrorContext(ctx, "admin: login limit", slog.Any("error", err))
		}
		lang := loginLang(r)
		problem := say(lang, "login.wrong")
		if wait > 0 {
			problem += " " + say(lang, "login.blocked", "n", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		}
		h.showLogin(w, r, http.StatusUnauthorized, next, problem)
		return
	}
	if err := h.o.Limiter.Succeeded(ctx, client); err != nil {
		h.o.Log.WarnContext(ctx, "admin: login limit", slog.Any("error", err))
	}
	sess, err := h.o.Sessions.Create(ctx, name, h.realmOf(name))
	if err != nil {
		h.o.Log.ErrorContext(ctx, "admin: start session", slog.Any("error", err))
		h.unavailable(w)
		return
	}
	h.o.Log.InfoContext(ctx, "admin: login", slog.String("user", sess.User), slog.String("client", client))
	http.SetCookie(w, h.cookie(r, loginCookie, "", LoginPath, -1))
	http.SetCookie(w, h.cookie(r, CookieName, sess.ID, "/admin", int(h.o.Sessions.TTL().Seconds())))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on every replica and forgets the cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := sessionOf(r)
	if !ok {
		http.Error(w, "400 bad request: a bearer has no session to end", http.StatusBadRequest)
		return
	}
	if err := h.cross.Check(r); err != nil {
		h.forbidden(w, r, "cross-origin logout refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !sess.ValidCSRF(r.PostForm.Get("csrf")) {
		h.forbidden(w, r, "logout without the page's CSRF token")
		return
	}
	if err := h.o.Sessions.Revoke(r.Context(), sess.ID); err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: end session", slog.Any("error", err))
		h.unavailable(w)
		return
	}
	h.o.Log.InfoContext(r.Context(), "admin: logout", slog.String("user", sess.User))
	http.SetCookie(w, h.cookie(r, CookieName, "", "/admin", -1))
	http.Redirect(w, r, LoginPath, http.StatusSeeOther)
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, why string) {
	h.o.Log.WarnContext(r.Context(), "admin: "+why, slog.String("client", clientAddr(r, h.o.TrustedProxies)))
	http.Error(w, "403 forbidden: "+why, http.StatusForbidden)
}

func (h *Handler) fmt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.o.Location).Format("2006-01-02 15:04 MST")
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, name string, data any) {
	h.pageStatus(w, r, http.StatusOK, name, data)
}

func (h *Handler) pageStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: render page", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// preview shows issue n's articles as drafted: the pipeline's draft when
// there is one, else the archived issue rendered as it would be drafted.
func (h *Handler) preview(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		http.Error(w, "not found: the issue number is a positive integer", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var (
		iss     *newsletter.Issue
		draft   *render.Draft
		source  string
		pipeErr error
		// fromPipe: the draft is the pipeline's (WeChat holds it).
		fromPipe bool
		lang     = langOf(r)
	)
	if h.o.Pipeline != nil {
		iss, draft, err = h.o.Pipeline.Draft(ctx, n)
		if err != nil {
			h.o.Log.ErrorContext(r.Context(), "admin: pipeline draft", slog.Int("issue", n), slog.Any("error", err))
			draft, pipeErr = nil, err
		}
		if draft != nil {
			source, fromPipe = say(lang, "preview.drafted"), true
		}
	}
	if draft == nil {
		a, ok := h.o.Issues.Get(n)
		if !ok {
			http.Error(w, fmt.Sprintf("not found: No.%d is neither in the archive nor in the pipeline", n), http.StatusNotFound)
			return
		}
		iss = a
		draft, _, err = render.Render(iss, h.o.Render)
		if err != nil {
			h.o.Log.WarnContext(r.Context(), "admin: render issue", slog.Int("issue", n), slog.Any("error", err))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = fmt.Fprintf(w, "No.%d cannot be rendered as a WeChat draft: %v\n", n, err)
			return
		}
		source = say(lang, "preview.archive")
		if pipeErr != nil {
			source = say(lang, "preview.pipeerr")
		}
	}
	page, err := render.PreviewPage(iss, draft)
	if err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: preview", slog.Int("issue", n), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// The page's own policy (a <meta>, for the file saved by `wxbot
	// render`) allows https images; the pages also show the sandbox's.
	if d := previewImgDirective(); d != "" {
		page = bytes.Replace(page, []byte(d), []byte("img-src "+h.imgSrc+";"), 1)
	}
	figures := h.figuresLine(r.Context(), n)
	if c, ok := h.o.Pipeline.(Coverer); ok && fromPipe {
		if u, err := c.CoverURL(ctx, n); err == nil && u != "" {
			figures = coverFigure(u) + figures
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(withBanner(page, source, figures))
}

// previewImgDirective is the img-src directive of render's preview
// policy ("img-src https: data:;"), "" if it has none.
func previewImgDirective() string {
	csp := render.PreviewCSP
	i := strings.Index(csp, "img-src ")
	if i < 0 {
		return ""
	}
	j := strings.Index(csp[i:], ";")
	if j < 0 {
		return ""
	}
	return csp[i : i+j+1]
}

// Coverer is a Pipeline that knows where WeChat keeps an issue's cover.
type Coverer interface {
	CoverURL(ctx context.Context, n int) (string, error)
}

// coverFigure shows the cover above the articles, as subscribers see it
// in the chat list; an http WeChat image address is asked over https.
func coverFigure(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	if u.Scheme == "http" && (strings.HasSuffix(u.Hostname(), ".qpic.cn") || strings.HasSuffix(u.Hostname(), ".qlogo.cn")) {
		u.Scheme = "https"
	}
	return `<figure id="wxbot-cover" style="max-width:375px;margin:0 auto 12px"><img src="` + template.HTMLEscapeString(u.String()) +
		`" alt="cover" style="display:block;width:100%;height:auto;border-radius:4px"><figcaption style="font-size:12px;color:#888;text-align:center">封面 · cover</figcaption></figure>` + "\n"
}

// withBanner puts a line above the phone frames saying where the articles
// come from, and a way back to the dashboard; then figures, HTML already
// escaped (WeChat's figures for the issue, figuresLine), when not empty.
func withBanner(page []byte, text, figures string) []byte {
	banner := `<nav id="wxbot-source" style="max-width:375px;margin:0 auto 12px;font-size:12px;color:#576b95;line-height:1.6">` +
		`<a href="/admin" style="color:#576b95">← /admin</a> · ` + template.HTMLEscapeString(text) + `</nav>`
	if figures != "" {
		banner += "\n" + figures
	}
	i := bytes.Index(page, []byte("<body>"))
	if i < 0 {
		return page
	}
	i += len("<body>")
	out := make([]byte, 0, len(page)+len(banner)+1)
	out = append(out, page[:i]...)
	out = append(out, '\n')
	out = append(out, banner...)
	return append(out, page[i:]...)
}
