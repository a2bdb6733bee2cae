package httpapi

import (
	"net/http"
	"testing"
	"time"

	"widgetapi"
)

// The widget read's rendering of a widget is AppendWidget's object and
// the widget's validators, at any moment; a widget that differs in any
// field from the one its slot was rendered from (a write, a new owner's
// address, another widget of the same slot) is rendered anew, never
// answered with the other's rendering.
func TestWidgetRenderingIsAppendWidgetsAndNeverStale(t *testing.T) {
	paris := mustLocation(t, "Europe/Paris")
	at := time.Date(2026, 12, 6, 14, 21, 20, 0, time.UTC)
	base := widgetapi.Widget{ID: 7, Name: "w0000007", InfoURL: "https://example.com/7", CreatedAt: at,
		UpdatedAt: at, Deadline: time.Date(2099, 9, 12, 23, 59, 59, 0, time.UTC), Version: 0x68001ce9dcb74886,
		Owner: widgetapi.WidgetOwner{ID: 1, Email: "admin@bench.local", PublicID: "91fd69ff-1ae8-412a-a298-12353c93e1a8"}}
	changed := func(f func(w *widgetapi.Widget)) widgetapi.Widget {
		w := base
		f(&w)
		return w
	}
	widgets := []widgetapi.Widget{
		base,
		changed(func(w *widgetapi.Widget) { w.Version++; w.InfoURL = "https://example.com/\"quoted\"\u2028" }),
		changed(func(w *widgetapi.Widget) { w.Version++; w.UpdatedAt = at.Add(time.Hour) }),
		changed(func(w *widgetapi.Widget) { w.Owner.Email = "new-address@bench.local" }),
		changed(func(w *widgetapi.Widget) { w.Owner.PublicID = "0e7b2a8c-5d1f-4c3e-9a7b-2f6d8e1c4b5a" }),
		changed(func(w *widgetapi.Widget) { w.Deadline = at.Add(-time.Second) }),
		changed(func(w *widgetapi.Widget) { w.ID += int64(len(widgetRenders{})); w.Name = "same-slot" }),
		base,
	}
	var rs widgetRenders
	for _, loc := range []*time.Location{time.UTC, paris} {
		for _, now := range []time.Time{at, at.Add(90 * time.Minute), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)} {
			for i := range widgets {
				w := widgets[i]
				for range 2 {
					r := rs.render(&w, loc)
					if got, want := string(r.appendTo(nil, now)), string(AppendWidget(nil, &w, now, loc)); got != want {
						t.Fatalf("widget %d in %v at %v:\nrendered %s\nappended %s", i, loc, now, got, want)
					}
					if want := []string{w.ETag(), w.UpdatedAt.UTC().Format(http.TimeFormat)}; r.validators[0] != want[0] || r.validators[1] != want[1] {
						t.Fatalf("widget %d: validators %q, want %q", i, r.validators, want)
					}
				}
			}
		}
	}
}

// mustLocation loads the time zone name.
func mustLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
