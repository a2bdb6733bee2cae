package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	_ "time/tzdata"

	"widgetapi"
)

// referenceWidget is the widget object as encoding/json wrote it before
// the object was appended by hand; AppendWidget must write the same bytes.
type referenceWidget struct {
	Name             string `json:"name"`
	InfoURL          string `json:"info_url"`
	CreatedAt        string `json:"created_at"`
	CreatedAtISO8601 string `json:"created_at_iso8601"`
	CreatedAtRFC822  string `json:"created_at_rfc822"`
	UpdatedAt        string `json:"updated_at"`
	UpdatedAtISO8601 string `json:"updated_at_iso8601"`
	UpdatedAtRFC822  string `json:"updated_at_rfc822"`
	Deadline         string `json:"deadline"`
	DeadlineISO8601  string `json:"deadline_iso8601"`
	DeadlinePassed   bool   `json:"deadline_passed"`
	TimeRemaining    string `json:"time_remaining"`
	Owner            struct {
		Email    string `json:"email"`
		PublicID string `json:"public_id"`
	} `json:"owner"`
	Link string `json:"link"`
}

func reference(t *testing.T, w *widgetapi.Widget, now time.Time, loc *time.Location) []byte {
	remaining := w.Deadline.Sub(now)
	r := referenceWidget{Name: w.Name, InfoURL: w.InfoURL,
		CreatedAt: w.CreatedAt.In(loc).Format(localizedLayout), CreatedAtISO8601: w.CreatedAt.UTC().Format(iso8601Layout),
		CreatedAtRFC822: w.CreatedAt.UTC().Format(rfc822Layout),
		UpdatedAt:       w.UpdatedAt.In(loc).Format(localizedLayout), UpdatedAtISO8601: w.UpdatedAt.UTC().Format(iso8601Layout),
		UpdatedAtRFC822: w.UpdatedAt.UTC().Format(rfc822Layout), Deadline: w.Deadline.In(loc).Format(localizedLayout),
		DeadlineISO8601: w.Deadline.UTC().Format(iso8601Layout), DeadlinePassed: remaining <= 0,
		TimeRemaining: widgetapi.FormatTimeRemaining(remaining), Link: widgetPath(w.Name)}
	r.Owner.Email, r.Owner.PublicID = w.Owner.Email, w.Owner.PublicID
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestWidgetJSONMatchesEncodingJSON(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", -7*3600-30*60), time.FixedZone("", 5*3600+45*60)}
	for _, name := range []string{"America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham", "Europe/Dublin"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, loc)
	}
	texts := []string{"https://www.fakesite.com", "https://b\u00fccher.example/\u2028\u2029", "a\"b\\c\n\r\t\x01\x1f<>&", "bad \xff utf-8 \xc3", "\U0001F600 \u00e9\u20ac", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)
	for i := range 5000 {
		loc := zones[i%len(zones)]
		created := time.Unix(rng.Int64N(253402300799-(-30610224000))+(-30610224000), 0)
		deadline := time.Unix(rng.Int64N(253402300799-(-30610224000))+(-30610224000), 0)
		if i%7 == 0 {
			deadline = now.Add(time.Duration(rng.Int64N(int64(400*24*time.Hour))) - 2*time.Hour)
		}
		updated := created.Add(time.Duration(rng.Int64N(int64(1000 * 24 * time.Hour))))
		if updated.Year() > 9999 {
			updated = created // times are kept within four-digit years
		}
		w := &widgetapi.Widget{Name: "w", InfoURL: texts[i%len(texts)], CreatedAt: created, Deadline: deadline, UpdatedAt: updated,
			Owner: widgetapi.WidgetOwner{Email: texts[(i+1)%len(texts)], PublicID: "0b5e8f1c-8d33-4a6e-9d0c-2f1b6e7a9c41"}}
		got := AppendWidget(nil, w, now, loc)
		if want := reference(t, w, now, loc); !bytes.Equal(got, want) {
			t.Fatalf("%v in %v:\n got  %s\n want %s", w, loc, got, want)
		}
	}
}

func BenchmarkAppendWidget(b *testing.B) {
	loc, _ := time.LoadLocation("America/New_York")
	w := &widgetapi.Widget{Name: "some-widget", InfoURL: "https://www.fakesite.com",
		CreatedAt: time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC), Deadline: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
		Owner: widgetapi.WidgetOwner{Email: "admin@example.com", PublicID: "0b5e8f1c-8d33-4a6e-9d0c-2f1b6e7a9c41"}}
	now := time.Now()
	var buf []byte
	for b.Loop() {
		buf = AppendWidget(buf[:0], w, now, loc)
	}
}
