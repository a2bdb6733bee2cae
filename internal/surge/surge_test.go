package surge_test

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"widgetapi/internal/surge"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testlog"
)

// timers holds what a Watch scheduled, to be run when the test says.
type timers struct {
	mu      sync.Mutex
	pending []timer
}

type timer struct {
	after time.Duration
	f     func()
}

func (ts *timers) after(d time.Duration, f func()) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.pending = append(ts.pending, timer{d, f})
}

// take returns the one timer scheduled since the last take, or fails.
func (ts *timers) take(t *testing.T) timer {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.pending) != 1 {
		t.Fatalf("%d releases scheduled, want 1", len(ts.pending))
	}
	tm := ts.pending[0]
	ts.pending = nil
	return tm
}

func (ts *timers) none(t *testing.T) {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.pending) != 0 {
		t.Fatalf("%d releases scheduled, want none", len(ts.pending))
	}
}

// conns opens or closes n connections on w.
func conns(w *surge.Watch, state http.ConnState, n int) {
	for range n {
		w.ConnState(nil, state)
	}
}

// Memory is given back once per surge, after it has fallen to a quarter
// of its peak and stayed there for Settle; a surge that comes back first
// waits for its own end, and releases are at least Interval apart. Fewer
// connections than a surge never release anything.
func TestMemoryIsReleasedOncePerSurge(t *testing.T) {
	clk := testclock.New(time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC))
	var ts timers
	released := 0
	w := surge.New(surge.Config{Surge: 100, Settle: time.Second, Interval: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Now: clk.Now, After: ts.after, Release: func() { released++ }})

	conns(w, http.StateNew, 99)
	conns(w, http.StateClosed, 99)
	ts.none(t) // not a surge

	conns(w, http.StateNew, 400)
	conns(w, http.StateClosed, 299)
	ts.none(t) // 101 open: more than a quarter of 400
	conns(w, http.StateClosed, 1)
	tm := ts.take(t)
	if tm.after != time.Second {
		t.Fatalf("release scheduled after %v, want Settle", tm.after)
	}
	conns(w, http.StateClosed, 50)
	ts.none(t) // one release at a time
	clk.Advance(time.Second)
	tm.f()
	if open, peak := w.Open(); released != 1 || open != 50 || peak != 50 {
		t.Fatalf("after the release: %d releases, %d open, peak %d", released, open, peak)
	}
	conns(w, http.StateClosed, 50)
	ts.none(t) // the rest of the same surge

	// Another surge two seconds later: released no sooner than Interval
	// after the first.
	clk.Advance(2 * time.Second)
	conns(w, http.StateNew, 200)
	conns(w, http.StateClosed, 200)
	if tm = ts.take(t); tm.after != 8*time.Second {
		t.Fatalf("second release scheduled after %v, want 8s", tm.after)
	}
	// It comes back before the release is due: no release, and none until
	// it has fallen again.
	conns(w, http.StateNew, 300)
	clk.Advance(8 * time.Second)
	tm.f()
	if released != 1 {
		t.Fatalf("released during a surge")
	}
	conns(w, http.StateClosed, 250)
	tm = ts.take(t)
	tm.f()
	if open, peak := w.Open(); released != 2 || open != 50 || peak != 50 {
		t.Fatalf("after the second surge: %d releases, %d open, peak %d", released, open, peak)
	}
}

// Thousands of real connections to an HTTP server, opened and closed at
// once from many goroutines, are counted exactly, and their end releases
// the memory once.
func TestASurgeOfRealConnections(t *testing.T) {
	releases := make(chan struct{}, 10)
	logs := &testlog.Buffer{}
	w := surge.New(surge.Config{Surge: 1000, Settle: 10 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Release: func() { releases <- struct{}{} }})
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ConnState = w.ConnState
	srv.Start()
	defer srv.Close()

	const n = 2000
	opened := make([]net.Conn, n)
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := g; i < n; i += 20 {
				c, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Error(err)
					return
				}
				opened[i] = c
			}
		})
	}
	wg.Wait()
	await(t, "every connection counted", func() bool { open, _ := w.Open(); return open == n })
	for g := range 20 {
		wg.Go(func() {
			for i := g; i < n; i += 20 {
				opened[i].Close()
			}
		})
	}
	wg.Wait()
	<-releases
	await(t, "every connection closed", func() bool { open, peak := w.Open(); return open == 0 && peak <= n/4 })
	if len(releases) != 0 {
		t.Fatalf("%d more releases for one surge", len(releases))
	}
	// The line is written after the memory is given back.
	await(t, "the release's log line", func() bool { return len(logs.Lines(t)) > 0 })
	lines := logs.Lines(t)
	if len(lines) != 1 || lines[0]["peak_connections"] != float64(n) {
		t.Fatalf("log of the release: %v", lines)
	}
}

// await polls cond, which the server's goroutines make true.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
