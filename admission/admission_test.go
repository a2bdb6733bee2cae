package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi/internal/testclock"
)

func newGate(slots, reserved, queue int) (*Gate, *testclock.Clock) {
	clk := testclock.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	return New(Config{Slots: slots, Reserved: reserved, MaxQueue: queue, Quiet: time.Second, Now: clk.Now}), clk
}

func mustAcquire(t *testing.T, g *Gate) func() {
	t.Helper()
	release, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return release
}

// waiter starts an Acquire that blocks, and returns a channel that yields
// its result once admitted or refused.
func waiter(t *testing.T, g *Gate, ctx context.Context) chan error {
	t.Helper()
	before := g.Stats().Waiting
	done := make(chan error, 1)
	go func() {
		release, err := g.Acquire(ctx)
		if err == nil {
			release()
		}
		done <- err
	}()
	// Awaited through the gate's own state, which it changes under its lock.
	for g.Stats().Waiting == before {
		select {
		case err := <-done:
			t.Fatalf("Acquire returned at once: %v", err)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	return done
}

func TestAllSlotsWhileNothingElseIsActive(t *testing.T) {
	g, _ := newGate(2, 1, 4)
	r1, r2 := mustAcquire(t, g), mustAcquire(t, g)
	if st := g.Stats(); st.Running != 2 || st.Waiting != 0 {
		t.Fatalf("stats %+v", st)
	}
	done := waiter(t, g, context.Background())
	r1()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r2()
	if st := g.Stats(); st.Running != 0 || st.Waiting != 0 {
		t.Fatalf("after release: %+v", st)
	}
}

func TestReservedSlotsStayFreeWhileOthersAreActive(t *testing.T) {
	g, clk := newGate(2, 1, 4)
	g.NoteOther()
	r1 := mustAcquire(t, g)
	done := waiter(t, g, context.Background()) // the reserved slot is not given out
	clk.Advance(999 * time.Millisecond)
	g.NoteOther()
	r1()
	if err := <-done; err != nil { // its own slot passes on
		t.Fatal(err)
	}
	// Once quiet for the whole window, both slots are usable again.
	clk.Advance(time.Second)
	r1, r2 := mustAcquire(t, g), mustAcquire(t, g)
	r1()
	r2()
}

func TestFullQueueIsRefusedAtOnce(t *testing.T) {
	g, _ := newGate(1, 0, 2)
	r := mustAcquire(t, g)
	w1, w2 := waiter(t, g, context.Background()), waiter(t, g, context.Background())
	if _, err := g.Acquire(context.Background()); !errors.Is(err, ErrBusy) {
		t.Fatalf("third waiter: %v, want ErrBusy", err)
	}
	r()
	if err := <-w1; err != nil {
		t.Fatal(err)
	}
	if err := <-w2; err != nil {
		t.Fatal(err)
	}
}

func TestCanceledWaiterLeavesTheQueueWithoutASlot(t *testing.T) {
	g, _ := newGate(1, 0, 4)
	r := mustAcquire(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	done := waiter(t, g, ctx)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v", err)
	}
	if st := g.Stats(); st.Running != 1 || st.Waiting != 0 {
		t.Fatalf("after cancel: %+v", st)
	}
	r()
	mustAcquire(t, g)()
}

func TestWaitersAreAdmittedInOrder(t *testing.T) {
	g, _ := newGate(1, 0, 8)
	r := mustAcquire(t, g)
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		before := g.Stats().Waiting
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := g.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			release()
		}()
		for g.Stats().Waiting == before {
			time.Sleep(time.Millisecond)
		}
	}
	r()
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("admitted in order %v", order)
		}
	}
}

// However many goroutines ask at once, no more hashes run than allowed,
// and every one that was admitted or refused leaves the gate empty.
func TestNeverMoreThanTheSlots(t *testing.T) {
	g, _ := newGate(3, 1, 16)
	var running, peak atomic.Int64
	var busy atomic.Int64
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%7 == 0 {
				g.NoteOther()
			}
			release, err := g.Acquire(context.Background())
			if errors.Is(err, ErrBusy) {
				busy.Add(1)
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			running.Add(-1)
			release()
		}()
	}
	wg.Wait()
	if peak.Load() > 3 {
		t.Fatalf("%d hashes ran at once with 3 slots", peak.Load())
	}
	if st := g.Stats(); st.Running != 0 || st.Waiting != 0 {
		t.Fatalf("gate not empty after the storm: %+v (%d refused)", st, busy.Load())
	}
}

func TestNilGateAdmitsEverything(t *testing.T) {
	var g *Gate
	g.NoteOther()
	release, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
}
