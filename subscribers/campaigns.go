package subscribers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// Campaign is a parametric QR code handed out for a scene (an event, a
// flyer, the newsletter's footer).
type Campaign struct {
	Scene     string    `json:"scene"`
	Permanent bool      `json:"permanent"`
	Expires   time.Time `json:"expires,omitzero"` // temporary codes only
	Ticket    string    `json:"ticket"`
	URL       string    `json:"url"`       // what the code encodes
	ImageURL  string    `json:"image_url"` // showqrcode
	Created   time.Time `json:"created"`
}

// SceneStats is what a scene brought.
type SceneStats struct {
	Scene string `json:"scene"`
	// Gained counts the openids that followed through the scene, each once.
	Gained int `json:"gained"`
	// Following counts those of them who still follow.
	Following int `json:"following"`
	// Scanned counts the openids that followed or, already following,
	// scanned the code.
	Scanned  int       `json:"scanned"`
	Campaign *Campaign `json:"campaign,omitempty"`
}

// CreateCampaign creates a QR code for scene — permanent, or temporary for
// expire (at most 30 days) — fetches its image and records the campaign.
// A new code for a scene that already has one replaces its record; the
// stats of the scene carry on.
func (s *Service) CreateCampaign(ctx context.Context, scene string, permanent bool, expire time.Duration) (Campaign, []byte, error) {
	if n := utf8.RuneCountInString(scene); n < 1 || n > 64 {
		return Campaign{}, nil, fmt.Errorf("subscribers: scene %q: WeChat takes 1 to 64 characters", scene)
	}
	if !permanent && (expire < time.Second || expire > wechat.MaxQRExpire) {
		return Campaign{}, nil, fmt.Errorf("subscribers: a temporary QR code lives 1s to 720h (30 days), not %s", expire)
	}
	if !s.api.Configured() {
		return Campaign{}, nil, wechat.ErrNotConfigured
	}
	now := s.now()
	q, err := s.api.CreateQRCode(ctx, scene, permanent, expire)
	if err != nil {
		return Campaign{}, nil, fmt.Errorf("subscribers: create QR code: %w", err)
	}
	c := Campaign{Scene: scene, Permanent: permanent, Ticket: q.Ticket, URL: q.URL, ImageURL: q.ImageURL, Created: now.UTC()}
	if !permanent {
		c.Expires = now.Add(time.Duration(q.ExpireSeconds) * time.Second).UTC()
	}
	// Record before fetching the image: the code exists at WeChat now.
	if err := s.RecordCampaign(ctx, c); err != nil {
		return c, nil, err
	}
	img, err := s.api.QRCodeImage(ctx, q.Ticket)
	if err != nil {
		return c, nil, fmt.Errorf("subscribers: QR code created and recorded, but its image could not be fetched (try %s): %w", q.ImageURL, err)
	}
	return c, img, nil
}

// RecordCampaign stores c under its scene.
func (s *Service) RecordCampaign(ctx context.Context, c Campaign) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := store.RecordCampaign(ctx, s.st.UniversalClient, s.st.Keys, c.Scene, b); err != nil {
		return fmt.Errorf("subscribers: record campaign %q: %w", c.Scene, err)
	}
	return nil
}

// Campaigns lists the recorded campaigns by scene.
func (s *Service) Campaigns(ctx context.Context) ([]Campaign, error) {
	m, err := s.st.HGetAll(ctx, s.st.Keys.QRCampaigns()).Result()
	if err != nil {
		return nil, fmt.Errorf("subscribers: list campaigns: %w", err)
	}
	out := make([]Campaign, 0, len(m))
	var bad []error
	for scene, v := range m {
		var c Campaign
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			bad = append(bad, fmt.Errorf("campaign %q: %w", scene, err))
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scene < out[j].Scene })
	if len(bad) > 0 {
		return out, fmt.Errorf("subscribers: unreadable campaigns: %w", errors.Join(bad...))
	}
	return out, nil
}

// Stats reports, per scene (campaigns and scenes seen in events), the
// openids gained and how many of them still follow.
func (s *Service) Stats(ctx context.Context) ([]SceneStats, error) {
	k := s.st.Keys
	camps, err := s.Campaigns(ctx)
	if err != nil && camps == nil {
		return nil, err
	}
	byScene := map[string]*Campaign{}
	for i := range camps {
		byScene[camps[i].Scene] = &camps[i]
	}
	scenes, err := s.st.SMembers(ctx, k.QRScenes()).Result()
	if err != nil {
		return nil, fmt.Errorf("subscribers: list scenes: %w", err)
	}
	for sc := range byScene {
		if !containsString(scenes, sc) {
			scenes = append(scenes, sc)
		}
	}
	sort.Strings(scenes)
	out := make([]SceneStats, 0, len(scenes))
	for _, sc := range scenes {
		pipe := s.st.Pipeline() // every key carries the {qr} hash tag
		gained := pipe.SCard(ctx, k.QRGained(sc))
		still := pipe.SInter(ctx, k.QRGained(sc), k.QRFollowing())
		scanned := pipe.SCard(ctx, k.QRScanned(sc))
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("subscribers: stats of %q: %w", sc, err)
		}
		out = append(out, SceneStats{
			Scene: sc, Gained: int(gained.Val()), Following: len(still.Val()), Scanned: int(scanned.Val()),
			Campaign: byScene[sc],
		})
	}
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
