package publisher

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// filled is a record with every field set to a value that is not zero, so
// an encoding that forgets or misnames a field shows.
func filled(t *testing.T) *Record {
	t.Helper()
	r := &Record{}
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			fill(t, v.Field(i), i+1)
		}
	}
	return r
}

func fill(t *testing.T, v reflect.Value, seed int) {
	t.Helper()
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.UnixMilli(1_700_000_000_000 + int64(seed))))
	case v.Kind() == reflect.String:
		v.SetString("v" + itoa(seed))
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		v.SetInt(int64(seed))
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.Kind() == reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0), seed)
		v.Set(s)
	case v.Kind() == reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, seed)
		fill(t, e, seed+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), seed*100+i)
			}
		}
	case v.Kind() == reflect.Uint8:
		v.SetUint(uint64('a' + seed%26))
	default:
		t.Fatalf("filled: no value for a %s: teach the test (and check record.go encodes it)", v.Type())
	}
}

// The hash fields are the names of `wxbot status --json` — every field
// the JSON shows and only those, plus the two it leaves out (dir and
// source) — and a record reads back as it was written.
func TestRecordFieldsAreTheStatusJSONNames(t *testing.T) {
	r := filled(t)
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var asJSON map[string]any
	if err := json.Unmarshal(js, &asJSON); err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(maps.Keys(asJSON))
	want = append(want, "dir", "source")
	slices.Sort(want)
	f := r.fields()
	if got := slices.Sorted(maps.Keys(f)); !slices.Equal(got, want) {
		t.Fatalf("hash fields differ from the status JSON:\n got %v\nwant %v", got, want)
	}
	back, err := decodeRecord(f)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back.fields(), f) {
		t.Fatalf("a record does not read back as written:\n%v\n%v", back.fields(), f)
	}
	js2, _ := json.Marshal(back)
	if string(js2) != string(js) || string(back.Source) != string(r.Source) || back.Dir != r.Dir {
		t.Fatalf("read back differs:\n%s\n%s", js2, js)
	}
	// Zero values are no field at all.
	if f := (&Record{}).fields(); len(f) != 0 {
		t.Fatalf("an empty record has fields %v", f)
	}
	if f := (&Record{Number: 5, History: []Transition{}}).fields(); len(f) != 1 || f["number"] != "5" {
		t.Fatalf("a record with an empty list has fields %v", f)
	}
}

// A field that does not decode is reported, with its name, never zeroed
// in silence and never a panic.
func TestDecodeRecordReportsBadFields(t *testing.T) {
	for _, c := range []struct{ field, value string }{
		{"number", "fifty"},
		{"rev", "1.5"},
		{"due", "tomorrow"},
		{"tag_id", "99999999999999999999999"},
		{"history", `[{"state":`},
		{"images", `["not a map"]`},
		{"draft_count", "three"}, // an old name is read, and checked, too
	} {
		_, err := decodeRecord(map[string]string{"number": "54", c.field: c.value})
		if c.field == "number" {
			_, err = decodeRecord(map[string]string{c.field: c.value})
		}
		if err == nil || !strings.Contains(err.Error(), "field "+c.field) {
			t.Errorf("%s=%q: %v, want an error naming the field", c.field, c.value, err)
		}
	}
	// Fields the record does not know (the store's restored mark) are not an error.
	if r, err := decodeRecord(map[string]string{"number": "54", "restored": "1", "rev": "3"}); err != nil || r.Number != 54 || r.Rev != 3 {
		t.Fatalf("%+v, %v", r, err)
	}
}

// A record written before the fields took their JSON names
// (publish_draft, draft_count) still loads, and its next write moves
// those fields to the current names.
func TestRecordInTheOldLayoutLoadsAndMoves(t *testing.T) {
	e := newEnv(t)
	p := e.publisher("cli")
	ctx := context.Background()
	key := e.st.Keys.PublishIssue(54)
	now := time.Now().UnixMilli()
	old := map[string]any{
		"number": "54", "state": "drafted", "goal": "schedule", "mode": "both", "broadcast": "none",
		"draft_media_id": "MEDIA_MASS", "publish_draft": "MEDIA_PUB", "draft_count": "3",
		"created": now, "updated": now, "rev": "4",
	}
	if err := e.st.HSet(ctx, key, old).Err(); err != nil {
		t.Fatal(err)
	}
	rec := e.record(p, 54)
	if rec.PublishDraft != "MEDIA_PUB" || rec.DraftCount != 3 || rec.DraftMediaID != "MEDIA_MASS" || rec.Rev != 4 {
		t.Fatalf("old layout read as publish draft %q, %d articles, draft %q, rev %d", rec.PublishDraft, rec.DraftCount, rec.DraftMediaID, rec.Rev)
	}
	if _, err := p.update(ctx, guard{}, 54, func(x *Record) (string, []op, error) {
		x.Explanation = "touched"
		return "", nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	h := e.st.HGetAll(ctx, key).Val()
	if h["publish_draft_media_id"] != "MEDIA_PUB" || h["draft_articles"] != "3" || h["rev"] != "5" || h["explanation"] != "touched" {
		t.Fatalf("after a write: %v", h)
	}
	for _, gone := range []string{"publish_draft", "draft_count"} {
		if _, ok := h[gone]; ok {
			t.Errorf("the old field %s is still there: %v", gone, h)
		}
	}
	if rec := e.record(p, 54); rec.PublishDraft != "MEDIA_PUB" || rec.DraftCount != 3 {
		t.Fatalf("after the move: publish draft %q, %d articles", rec.PublishDraft, rec.DraftCount)
	}
}
