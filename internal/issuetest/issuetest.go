// Package issuetest holds what the tests of the issue flow — the inbox, the
// archive and the publisher — share: an example issue file caught
// half-written, a file written in two parts, the numbers of a list of
// issues, and a short wait for a condition. Only tests import it.
package issuetest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/newsletter"
)

// Numbers lists the issues' numbers in order, space-separated: "55 54".
func Numbers(issues []*newsletter.Issue) string {
	var s []string
	for _, iss := range issues {
		s = append(s, strconv.Itoa(iss.Number))
	}
	return strings.Join(s, " ")
}

// WaitFor polls cond until it holds, and fails the test when it does not
// within 5 s.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// HalfWritten reads the example issue file name (examples.FS) and finds
// its shortest proper prefix, at a line end, that still parses as the same
// issue: the file caught half-written by a loader that does not wait.
func HalfWritten(t testing.TB, name string) (full, part []byte) {
	t.Helper()
	full, err := examples.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	whole, _, err := newsletter.Parse(name, full)
	if err != nil || whole == nil {
		t.Fatalf("example %s does not parse: %v", name, err)
	}
	lines := bytes.SplitAfter(full, []byte("\n"))
	for i := 1; i < len(lines)-1; i++ {
		p := bytes.Join(lines[:i], nil)
		if iss, _, err := newsletter.Parse("part", p); err == nil && iss != nil && iss.Number == whole.Number {
			return full, p
		}
	}
	t.Fatalf("no prefix of %s parses; the test needs one", name)
	return nil, nil
}

// WriteInTwoParts creates path holding part, waits pause, and appends the
// rest of full: a file written slowly, as by an editor's copy over a slow
// share. It returns once the whole file is written.
func WriteInTwoParts(t testing.TB, path string, full, part []byte, pause time.Duration) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(part); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	if _, err := f.Write(full[len(part):]); err != nil {
		t.Fatal(err)
	}
}
