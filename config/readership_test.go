package config

import (
	"strings"
	"testing"
	"time"
)

func TestReadershipConfig(t *testing.T) {
	c, err := Load(Options{Env: env(map[string]string{})})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Readership.Enabled || c.Readership.CollectAt != "08:00" {
		t.Fatalf("readership defaults: %+v", c.Readership)
	}
	if d, ok := c.Readership.CollectAtOffset(); !ok || d != 8*time.Hour {
		t.Fatalf("08:00 is %s, %v", d, ok)
	}
	c, err = Load(Options{Env: env(map[string]string{"WXBOT_READERSHIP_ENABLED": "false", "WXBOT_READERSHIP_COLLECT_AT": "23:45"})})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := c.Readership.CollectAtOffset(); c.Readership.Enabled || !ok || d != 23*time.Hour+45*time.Minute {
		t.Fatalf("readership from env: %+v → %s %v", c.Readership, d, ok)
	}
	for _, bad := range []string{"8:00", "24:00", "08:60", "0800", "", "08:00:00", "x"} {
		_, err := Load(Options{Env: env(map[string]string{"WXBOT_READERSHIP_COLLECT_AT": bad})})
		if err == nil || !strings.Contains(err.Error(), "readership.collect_at: must be HH:MM") {
			t.Errorf("collect_at %q: got %v", bad, err)
		}
	}
}
