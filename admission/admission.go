// Package admission bounds the CPU that password hashing may take, so that a
// flood of logins, each one allowed on its own, cannot starve the requests of
// other users.
//
// A bcrypt comparison at production cost keeps a core busy for a few hundred
// milliseconds, and Go's scheduler only preempts it every ten or so: with
// every core hashing, a read waits tens of milliseconds for a turn. The gate
// lets hashes use every core while nothing else is going on, keeps some cores
// free for other work once other requests arrive, and queues a few hashes
// beyond that before refusing more.
package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by Acquire when the queue is full.
var ErrBusy = errors.New("admission: too many password hashes waiting")

// Config sizes a Gate.
type Config struct {
	// Slots is how many hashes may run at once while nothing else is active;
	// usually the number of cores the process may use.
	Slots int
	// Reserved of those slots are kept free while other requests are
	// active, so that they always find a core.
	Reserved int
	// MaxQueue is how many hashes may wait for a slot before ErrBusy.
	MaxQueue int
	// Quiet is how long after the last other request the reserved slots
	// open to hashes again.
	Quiet time.Duration
	Now   func() time.Time
}

// Gate admits password hashes.
type Gate struct {
	cfg Config

	// lastOther is when another request last started, in Unix nanoseconds.
	lastOther atomic.Int64

	mu      sync.Mutex
	running int
	queue   []chan struct{}
}

// New returns a Gate. Slots below 1 become 1, and Reserved is kept below Slots.
func New(cfg Config) *Gate {
	cfg.Slots = max(cfg.Slots, 1)
	cfg.Reserved = min(max(cfg.Reserved, 0), cfg.Slots-1)
	cfg.MaxQueue = max(cfg.MaxQueue, 0)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Gate{cfg: cfg}
}

// NoteOther records that a request that does not hash has started. It is
// one atomic store, cheap enough for every request.
func (g *Gate) NoteOther() {
	if g != nil {
		g.lastOther.Store(g.cfg.Now().UnixNano())
	}
}

// allowed is how many hashes may run now. With mu held.
func (g *Gate) allowed() int {
	if g.cfg.Reserved > 0 && g.cfg.Now().UnixNano()-g.lastOther.Load() < int64(g.cfg.Quiet) {
		return g.cfg.Slots - g.cfg.Reserved
	}
	return g.cfg.Slots
}

// Acquire waits for a slot and returns the function that gives it back. It
// returns ErrBusy at once when MaxQueue hashes are already waiting, and
// ctx's error if ctx ends first. A nil Gate admits everything.
func (g *Gate) Acquire(ctx context.Context) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	g.mu.Lock()
	if len(g.queue) == 0 && g.running < g.allowed() {
		g.running++
		g.mu.Unlock()
		return g.release, nil
	}
	if len(g.queue) >= g.cfg.MaxQueue {
		g.mu.Unlock()
		return nil, ErrBusy
	}
	ready := make(chan struct{})
	g.queue = append(g.queue, ready)
	g.mu.Unlock()

	select {
	case <-ready:
		return g.release, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, ch := range g.queue {
			if ch == ready {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				return nil, ctx.Err()
			}
		}
		// Admitted while giving up: pass the slot on.
		g.running--
		g.dispatch()
		return nil, ctx.Err()
	}
}

func (g *Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	g.dispatch()
}

// dispatch admits waiting hashes, oldest first, while slots allow. With mu held.
func (g *Gate) dispatch() {
	for len(g.queue) > 0 && g.running < g.allowed() {
		close(g.queue[0])
		g.queue = g.queue[1:]
		g.running++
	}
}

// Stats is a snapshot of the gate, for metrics and tests.
type Stats struct{ Running, Waiting int }

// Stats returns how many hashes run and wait now.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Stats{Running: g.running, Waiting: len(g.queue)}
}
