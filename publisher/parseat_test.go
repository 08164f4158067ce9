package publisher_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/publisher"
)

func TestParseAt(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) // 17:00 in Shanghai
	for _, c := range []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: "2026-11-30T09:00:00+08:00", want: time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)},
		{in: "2026-11-27T09:00:05Z", want: now.Add(5 * time.Second)},
		{in: "2026-11-27T09:00:05.5Z", want: now.Add(5500 * time.Millisecond)},
		{in: " 2026-11-30 09:00 ", want: time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)},
		{in: "2026-11-27 17:00:30", want: now.Add(30 * time.Second)},
		{in: "2026-11-27T17:01", want: now.Add(time.Minute)},
		{in: "+90s", want: now.Add(90 * time.Second)},
		{in: "+2h30m", want: now.Add(150 * time.Minute)},
		{in: "1795770010", want: time.Unix(1795770010, 0)},
		{in: "2026-11-27 16:58", wantErr: "in the past"},              // two minutes ago in Shanghai
		{in: "1700000000", wantErr: "in the past"},                    // 2023
		{in: "2026-11-27 16:59:30", want: now.Add(-30 * time.Second)}, // inside the grace
		{in: "+-5s", wantErr: "a delay is a Go duration"},
		{in: "+soon", wantErr: "a delay is a Go duration"},
		{in: "next monday", wantErr: "want RFC 3339"},
		{in: "", wantErr: "want RFC 3339"},
		{in: "2026-13-01 09:00", wantErr: "want RFC 3339"},
	} {
		got, err := publisher.ParseAt(c.in, shanghai, now, time.Minute)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseAt(%q) = %v, %v; want an error with %q", c.in, got, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("ParseAt(%q): %v", c.in, err)
		case !got.Equal(c.want):
			t.Errorf("ParseAt(%q) = %s, want %s", c.in, got.UTC(), c.want.UTC())
		}
	}
}
