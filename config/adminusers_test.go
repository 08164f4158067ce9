package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bcrypt-shaped hash (cost 4): validation reads its form, not the password.
const linHash = "$2a$04$q0n7Hk9p2Tg5cJ8zZbQvUe3n8m7sF5r0M0o3bS7yE2t9Jm2b1Yy5K"

func TestAdminUsers(t *testing.T) {
	tok := map[string]string{"WXBOT_ADMIN_TOKEN": "adminToken-0123456789"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range tok {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	c, err := Load(Options{Env: env(with(map[string]string{"WXBOT_ADMIN_USERS": "Lin:" + linHash + ", wang:" + linHash}))})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Admin.Users) != 2 || c.Admin.Users["lin"] != linHash || c.Admin.Users["wang"] != linHash {
		t.Fatalf("users from env: %v", c.Admin.Users)
	}
	// From the file: names read in lower case.
	dir := t.TempDir()
	file := filepath.Join(dir, "wxbot.yaml")
	if err := os.WriteFile(file, []byte("admin:\n  token: adminToken-0123456789\n  users:\n    Lin: \""+linHash+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(Options{File: file, Env: env(map[string]string{})})
	if err != nil || c.Admin.Users["lin"] != linHash {
		t.Fatalf("users from the file: %v %v", c, err)
	}
	for value, want := range map[string]string{
		"lin:not-a-hash":                        "lin: the value is not a bcrypt hash",
		"admin:" + linHash:                      "the name admin is admin.token's login",
		"li n:" + linHash:                       "names are 1 to 32 lower-case letters",
		strings.Repeat("a", 33) + ":" + linHash: "names are 1 to 32",
		"lin" + linHash:                         "each entry is NAME:BCRYPT-HASH",
	} {
		_, err := Load(Options{Env: env(with(map[string]string{"WXBOT_ADMIN_USERS": value}))})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", value, err, want)
		}
	}
	if _, err := Load(Options{Env: env(map[string]string{"WXBOT_ADMIN_USERS": "lin:" + linHash})}); err == nil || !strings.Contains(err.Error(), "admin.token is empty") {
		t.Errorf("users without a token: %v", err)
	}
	// The hashes are not logged.
	c, _ = Load(Options{Env: env(with(map[string]string{"WXBOT_ADMIN_USERS": "lin:" + linHash}))})
	if v := c.LogValue().String(); strings.Contains(v, linHash) {
		t.Errorf("LogValue shows a hash: %s", v)
	}
}
