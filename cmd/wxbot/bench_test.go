package main

import (
	"regexp"
	"testing"

	"github.com/lifang/wxbot/internal/redistest"
)

// A short run of wxbot bench on a real redis-server: both servers answer the
// same keyword alike (bench checks it) and the report carries every figure.
func TestBenchCommand(t *testing.T) {
	srv := redistest.Start(t)
	out := runCLI(t, "", "bench", "--redis", srv.Addr, "--duration", "300ms", "--requests", "600",
		"--rounds", "1", "--concurrency", "4", "--users", "50")
	for _, re := range []string{
		`safe mode, keyword "GDPR", 4 concurrent`,
		`round 1 reference +\d+ req/s  p50 +[\d.]+ ms  p99 +[\d.]+ ms  \(\d+ requests, 0 errors, [1-9]\d* replies decrypted and checked\)`,
		`round 1 wxbot +\d+ req/s .*\(\d+ requests, 0 errors, [1-9]\d* replies decrypted and checked\)`,
		`round 1 floor +\d+ req/s .*\(\d+ requests, 0 errors, [1-9]\d* replies decrypted and checked\)`,
		`throughput ratio wxbot/reference: [\d.]+×`,
		// CPU per request, in this process and in redis-server.
		`(?m)^  reference +[\d.]+ µs \+ +[\d.]+ µs = +[\d.]+ µs   [\d.]+ of \d+ cores busy$`,
		`(?m)^  wxbot +[\d.]+ µs \+ +[1-9][\d.]* µs = +[\d.]+ µs   [\d.]+ of \d+ cores busy$`,
		`above the floor: reference [\d.]+ µs, wxbot [\d.]+ µs per request`,
		`wxbot's Redis commits: [\d.]+ ms average wait \(queue and round trip\) in an average answer of [\d.]+ ms; [\d.]+ questions per script call`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("bench output lacks %s:\n%s", re, out)
		}
	}
	// Nothing is left in the shared Redis.
	if n, err := srv.Client().DBSize(t.Context()).Result(); err != nil || n != 0 {
		t.Fatalf("bench left %d keys (%v)", n, err)
	}
	// Only loopback.
	cmd := newRootCmd()
	cmd.SetArgs([]string{"bench", "--redis", "10.1.2.3:6379"})
	if err := cmd.Execute(); err == nil {
		t.Fatal("bench accepted a non-loopback Redis")
	}
}
