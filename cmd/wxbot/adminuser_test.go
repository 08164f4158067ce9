package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestHashPassword: the hash printed matches the password read from
// stdin; a short password is a usage error (exit 2) and prints no hash.
func TestHashPassword(t *testing.T) {
	run := func(stdin string) (string, string, int) {
		root := newRootCmd()
		var out, errb bytes.Buffer
		root.SetIn(strings.NewReader(stdin))
		root.SetOut(&out)
		root.SetErr(&errb)
		root.SetArgs([]string{"admin", "hash-password"})
		code := execute(context.Background(), root, &errb)
		return out.String(), errb.String(), code
	}
	out, _, code := run("correct horse battery\n")
	hash := strings.TrimSpace(out)
	if code != 0 || bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse battery")) != nil {
		t.Fatalf("exit %d, hash %q does not match the password", code, hash)
	}
	if c, _ := bcrypt.Cost([]byte(hash)); c != adminHashCost {
		t.Errorf("cost %d", c)
	}
	out, errs, code := run("short\n")
	if code != 2 || out != "" || !strings.Contains(errs+out, "shorter than 10") {
		t.Fatalf("short password: exit %d, %q %q", code, out, errs)
	}
}
