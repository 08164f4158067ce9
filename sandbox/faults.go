package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault kinds.
const (
	// FaultFail answers errcode Code (default -1, "system busy") without
	// doing anything.
	FaultFail = "fail"
	// FaultLose does the call's effect, then closes the connection without
	// answering, as when WeChat's answer is lost on the way back.
	FaultLose = "lose"
	// FaultLatency waits Delay before handling the call.
	FaultLatency = "latency"
	// FaultRevoke revokes every access token just before the call, which
	// therefore gets 40001.
	FaultRevoke = "revoke"
)

// Fault is an injected failure. It applies to the calls of Endpoint ("*":
// every endpoint), skipping the first After of them, Count times (default
// 1; for latency 0 means every call).
type Fault struct {
	Kind     string   `json:"kind"`
	Endpoint string   `json:"endpoint"`
	Count    int      `json:"count,omitempty"`
	After    int      `json:"after,omitempty"`
	Code     int      `json:"code,omitempty"`
	Delay    Duration `json:"delay,omitempty"`

	forever bool
}

// Duration is a time.Duration that reads "2s" or a number of milliseconds in JSON.
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes "2s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "2s" or milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration must be like \"2s\" or milliseconds: %w", err)
	}
	*d = Duration(time.Duration(ms) * time.Millisecond)
	return nil
}

// validate normalises a fault and reports what is wrong with it.
func (f *Fault) validate() error {
	switch f.Kind {
	case FaultFail, FaultLose, FaultRevoke:
	case FaultLatency:
		if f.Delay <= 0 {
			return fmt.Errorf("sandbox: latency fault on %s needs a positive delay", f.Endpoint)
		}
	default:
		return fmt.Errorf("sandbox: fault kind %q: want fail, lose, latency or revoke", f.Kind)
	}
	if f.Endpoint == "" {
		return fmt.Errorf("sandbox: %s fault needs an endpoint (or *)", f.Kind)
	}
	if _, ok := apiRoutes[f.Endpoint]; !ok && f.Endpoint != "*" {
		return fmt.Errorf("sandbox: %s fault: unknown endpoint %q (known: %s)", f.Kind, f.Endpoint, strings.Join(Endpoints(), ", "))
	}
	if f.Count < 0 || f.After < 0 {
		return fmt.Errorf("sandbox: %s fault on %s: count and after must not be negative", f.Kind, f.Endpoint)
	}
	if f.Count == 0 {
		if f.Kind == FaultLatency {
			f.forever = true
		} else {
			f.Count = 1
		}
	}
	return nil
}

// AddFault injects a fault.
func (s *Server) AddFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// Faults lists the faults still pending.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// takeFaults returns the faults that apply to this call of endpoint and
// uses them up.
func (s *Server) takeFaults(endpoint string) []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hit []Fault
	kept := s.faults[:0]
	for _, f := range s.faults {
		if f.Endpoint != endpoint && f.Endpoint != "*" {
			kept = append(kept, f)
			continue
		}
		if f.After > 0 {
			f.After--
			kept = append(kept, f)
			continue
		}
		hit = append(hit, *f)
		if !f.forever {
			f.Count--
		}
		if f.forever || f.Count > 0 {
			kept = append(kept, f)
		}
	}
	s.faults = kept
	return hit
}

func joinFault(a, b string) string {
	if a == "" {
		return b
	}
	return a + "+" + b
}

func (s *Server) serveAddFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var list []Fault
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		err = json.Unmarshal(body, &list)
	} else {
		var f Fault
		err = json.Unmarshal(body, &f)
		list = []Fault{f}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": 47001, "errmsg": "data format error: " + err.Error()})
		return
	}
	for _, f := range list {
		if err := f.validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": 40035, "errmsg": err.Error()})
			return
		}
	}
	for _, f := range list {
		if err := s.AddFault(f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": 40035, "errmsg": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

// ParseFault reads a fault from its command-line form:
//
//	fail     ENDPOINT[=COUNT[:ERRCODE]]   e.g. draft/add=2:45009
//	lose     ENDPOINT[=COUNT]             e.g. message/mass/sendall
//	latency  ENDPOINT=DURATION[:COUNT]    e.g. *=300ms
//	revoke   ENDPOINT[=AFTER]             e.g. draft/add=1 (the 2nd draft/add finds its token revoked)
func ParseFault(kind, spec string) (Fault, error) {
	f := Fault{Kind: kind}
	endpoint, arg, hasArg := strings.Cut(spec, "=")
	f.Endpoint = strings.TrimPrefix(strings.TrimSpace(endpoint), "/cgi-bin/")
	parts := []string{}
	if hasArg {
		parts = strings.Split(arg, ":")
	}
	atoi := func(what, s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("sandbox: --%s %s: %s must be a number (got %q)", kind, spec, what, s)
		}
		return n, nil
	}
	var err error
	switch kind {
	case FaultFail:
		if len(parts) > 0 {
			if f.Count, err = atoi("count", parts[0]); err != nil {
				return f, err
			}
		}
		if len(parts) > 1 {
			if f.Code, err = atoi("errcode", parts[1]); err != nil {
				return f, err
			}
		}
	case FaultLose:
		if len(parts) > 0 {
			if f.Count, err = atoi("count", parts[0]); err != nil {
				return f, err
			}
		}
	case FaultLatency:
		if len(parts) == 0 {
			return f, fmt.Errorf("sandbox: --latency %s: want ENDPOINT=DURATION, e.g. draft/add=2s", spec)
		}
		d, perr := time.ParseDuration(parts[0])
		if perr != nil {
			return f, fmt.Errorf("sandbox: --latency %s: %w", spec, perr)
		}
		f.Delay = Duration(d)
		if len(parts) > 1 {
			if f.Count, err = atoi("count", parts[1]); err != nil {
				return f, err
			}
		}
	case FaultRevoke:
		if len(parts) > 0 {
			if f.After, err = atoi("after", parts[0]); err != nil {
				return f, err
			}
		}
	}
	if err := f.validate(); err != nil {
		return f, err
	}
	return f, nil
}
