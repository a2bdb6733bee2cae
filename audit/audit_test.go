package audit_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/audit"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

var t0 = time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)

func count(t *testing.T, l *audit.Log, action string) int {
	t.Helper()
	_, n, err := l.List(context.Background(), widgetapi.EventFilter{Action: action}, widgetapi.Page{Number: 1, Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Purge keeps the events of the last retention by the log's clock.
func TestPurgeKeepsTheRetention(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		clk := testclock.New(t0)
		l := audit.New(engine.Open(t), slog.New(slog.DiscardHandler), clk.Now)
		ctx := context.Background()
		for range 3 {
			l.Record(ctx, l.Event(ctx, widgetapi.ActionLogin, "old@example.com", nil))
		}
		clk.Advance(48 * time.Hour)
		l.Record(ctx, l.Event(ctx, widgetapi.ActionLogin, "new@example.com", nil))
		clk.Advance(time.Hour)
		if n, err := l.Purge(ctx, 24*time.Hour); err != nil || n != 3 {
			t.Fatalf("purged %d, %v; want the 3 older than a day", n, err)
		}
		if n := count(t, l, ""); n != 1 {
			t.Fatalf("%d events left", n)
		}
	})
}

// The first purge runs when the loop starts, not an interval later.
func TestPurgeLoopPurgesAtOnce(t *testing.T) {
	clk := testclock.New(t0)
	st := testdb.Engines(t)[0].Open(t)
	l := audit.New(st, slog.New(slog.DiscardHandler), clk.Now)
	ctx := context.Background()
	l.Record(ctx, l.Event(ctx, widgetapi.ActionLogin, "old@example.com", nil))
	clk.Advance(91 * 24 * time.Hour)
	loopCtx, stop := context.WithCancel(ctx)
	defer stop()
	type purge struct {
		n   int64
		err error
	}
	reports := make(chan purge, 1)
	go l.PurgeLoop(loopCtx, 90*24*time.Hour, time.Hour, func(n int64, err error) { reports <- purge{n, err} })
	if p := <-reports; p.err != nil || p.n != 1 {
		t.Fatalf("first purge: %d, %v; want the one old event", p.n, p.err)
	}
	if n := count(t, l, ""); n != 0 {
		t.Fatalf("%d events left", n)
	}
}

func TestThrottledIsRecordedOnceAMinutePerKey(t *testing.T) {
	clk := testclock.New(t0)
	logs := &testlog.Buffer{}
	l := audit.New(testdb.Engines(t)[0].Open(t), slog.New(slog.NewJSONHandler(logs, nil)), clk.Now)
	ctx := widgetapi.NewContextWithRequest(context.Background(), widgetapi.RequestInfo{ID: "r", Address: "192.0.2.1", Source: widgetapi.SourceAPI})
	for range 1000 {
		l.Throttled(ctx, "address\x00192.0.2.1", "192.0.2.1", "address")
		l.Throttled(ctx, "address\x00192.0.2.2", "192.0.2.2", "address")
	}
	if n := count(t, l, widgetapi.ActionThrottled); n != 2 {
		t.Fatalf("%d events for 2000 refusals of two keys, want 2", n)
	}
	clk.Advance(time.Minute)
	l.Throttled(ctx, "address\x00192.0.2.1", "192.0.2.1", "address")
	if n := count(t, l, widgetapi.ActionThrottled); n != 3 {
		t.Fatalf("%d events a minute later, want 3", n)
	}
	if got := strings.Count(logs.String(), `"msg":"audit"`); got != 3 {
		t.Fatalf("%d audit lines, want 3", got)
	}
}

// A nil Log is a log that keeps nothing, for commands without one.
func TestANilLogDoesNothing(t *testing.T) {
	var l *audit.Log
	ctx := context.Background()
	if ev := l.Event(ctx, widgetapi.ActionLogin, "x", nil); ev != nil {
		t.Fatal("a nil log made an event")
	}
	l.Record(ctx, &widgetapi.Event{})
	l.Committed(ctx, &widgetapi.Event{})
	l.Throttled(ctx, "k", "t", "address")
}
