package publisher

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// A record's Redis hash has one field per Record field, named by its JSON
// name — the names of `wxbot status --json` — or, for the fields the JSON
// leaves out (json:"-"), by its redis tag. Strings are kept as they are,
// numbers in decimal, booleans as "1", times in unix milliseconds, and
// everything else (lists, maps, the history) as JSON; a zero value is no
// field at all. The table is built once from the struct, so a new Record
// field is stored without more code; a field with json:"-" and no redis
// tag is not stored.

// recordAliases are the names fields were stored under before they took
// their JSON name: old → current. A record written in the old layout
// still loads; its next write moves the fields to the current names.
var recordAliases = map[string]string{
	"publish_draft": "publish_draft_media_id",
	"draft_count":   "draft_articles",
}

// oldName is recordAliases the other way round: current → old.
var oldName = func() map[string]string {
	m := map[string]string{}
	for old, cur := range recordAliases {
		m[cur] = old
	}
	return m
}()

// recordField is one row of the encoding table.
type recordField struct {
	name  string
	index int
	kind  fieldKind
}

type fieldKind int

const (
	kindString fieldKind = iota // string and string types (State, Goal)
	kindBytes                   // []byte
	kindInt                     // int, int64
	kindBool
	kindTime
	kindJSON // anything else
)

var timeType = reflect.TypeFor[time.Time]()

// recordFields is the table, in Record's field order.
var recordFields = buildRecordFields()

func buildRecordFields() []recordField {
	t := reflect.TypeFor[Record]()
	var out []recordField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || name == "" {
			name = sf.Tag.Get("redis")
		}
		if name == "" || name == "-" {
			continue
		}
		f := recordField{name: name, index: i, kind: kindJSON}
		switch {
		case sf.Type == timeType:
			f.kind = kindTime
		case sf.Type.Kind() == reflect.String:
			f.kind = kindString
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Uint8:
			f.kind = kindBytes
		case sf.Type.Kind() == reflect.Int || sf.Type.Kind() == reflect.Int64:
			f.kind = kindInt
		case sf.Type.Kind() == reflect.Bool:
			f.kind = kindBool
		}
		out = append(out, f)
	}
	return out
}

// fields encodes the record as its hash fields, "rev" included (the store
// keeps the rev itself and ignores it in a change).
func (r *Record) fields() map[string]string {
	out := make(map[string]string, len(recordFields))
	v := reflect.ValueOf(r).Elem()
	for _, f := range recordFields {
		fv := v.Field(f.index)
		switch f.kind {
		case kindString:
			if s := fv.String(); s != "" {
				out[f.name] = s
			}
		case kindBytes:
			if fv.Len() > 0 {
				out[f.name] = string(fv.Bytes())
			}
		case kindInt:
			if n := fv.Int(); n != 0 {
				out[f.name] = strconv.FormatInt(n, 10)
			}
		case kindBool:
			if fv.Bool() {
				out[f.name] = "1"
			}
		case kindTime:
			if t := fv.Interface().(time.Time); !t.IsZero() {
				out[f.name] = strconv.FormatInt(t.UnixMilli(), 10)
			}
		case kindJSON:
			if fv.IsZero() || ((fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0) {
				continue
			}
			b, err := json.Marshal(fv.Interface())
			if err == nil {
				out[f.name] = string(b)
			}
		}
	}
	return out
}

// storedFields is what Redis holds of the record as it was read: its
// fields, with those read under an old name under that name (so a change
// deletes them and writes the current one).
func (r *Record) storedFields() map[string]string {
	f := r.fields()
	for old, v := range r.legacy {
		f[old] = v
		delete(f, recordAliases[old])
	}
	return f
}

// decodeRecord reads a record from its hash fields. A field that does not
// decode is reported rather than silently zeroed: the record steers a
// broadcast. Fields it does not know (the store's "restored") are ignored.
func decodeRecord(f map[string]string) (*Record, error) {
	r := &Record{}
	for old := range recordAliases {
		if v, ok := f[old]; ok {
			if r.legacy == nil {
				r.legacy = map[string]string{}
			}
			r.legacy[old] = v
		}
	}
	var errs []error
	v := reflect.ValueOf(r).Elem()
	for _, rf := range recordFields {
		name := rf.name
		raw, ok := f[name]
		if !ok {
			name = oldName[rf.name]
			raw, ok = f[name]
		}
		if !ok {
			continue
		}
		fv := v.Field(rf.index)
		switch rf.kind {
		case kindString:
			fv.SetString(raw)
		case kindBytes:
			fv.SetBytes([]byte(raw))
		case kindBool:
			fv.SetBool(raw == "1")
		case kindInt, kindTime:
			n, err := strconv.ParseInt(raw, 10, 64)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("field %s: %w", name, err))
			case rf.kind == kindTime && n != 0:
				fv.Set(reflect.ValueOf(time.UnixMilli(n)))
			case rf.kind == kindInt:
				if fv.OverflowInt(n) {
					errs = append(errs, fmt.Errorf("field %s: %d out of range", name, n))
					continue
				}
				fv.SetInt(n)
			}
		case kindJSON:
			if err := json.Unmarshal([]byte(raw), fv.Addr().Interface()); err != nil {
				errs = append(errs, fmt.Errorf("field %s: %w", name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("publisher: issue %d: undecodable pipeline state: %w", r.Number, err)
	}
	return r, nil
}
