package logbatch

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"widgetapi/internal/testload"
)

// sink records each write it is given.
type sink struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{}
}

func newSink() *sink { return &sink{wrote: make(chan struct{}, 1000)} }

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes = append(s.writes, string(p))
	s.mu.Unlock()
	s.wrote <- struct{}{}
	return len(p), nil
}

func (s *sink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestLinesLeaveTogetherInOrderOnFlush(t *testing.T) {
	s := newSink()
	b := New(s, time.Hour, 1<<20)
	for i := range 5 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got := s.all(); len(got) != 0 {
		t.Fatalf("written before the flush: %q", got)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := s.all(); len(got) != 1 || got[0] != "line 0\nline 1\nline 2\nline 3\nline 4\n" {
		t.Fatalf("writes %q", got)
	}
}

func TestAFullBufferIsWrittenAtOnce(t *testing.T) {
	s := newSink()
	b := New(s, time.Hour, 16)
	b.Write([]byte("0123456789\n"))
	b.Write([]byte("abcdefghij\n"))
	if got := s.all(); len(got) != 1 || got[0] != "0123456789\nabcdefghij\n" {
		t.Fatalf("writes %q", got)
	}
}

// Lines held are written after the delay without anyone flushing.
func TestHeldLinesLeaveAfterTheDelay(t *testing.T) {
	s := newSink()
	b := New(s, time.Millisecond, 1<<20)
	b.Write([]byte("late\n"))
	<-s.wrote
	if got := s.all(); len(got) != 1 || got[0] != "late\n" {
		t.Fatalf("writes %q", got)
	}
	b.Write([]byte("again\n"))
	<-s.wrote
	if got := s.all(); len(got) != 2 || got[1] != "again\n" {
		t.Fatalf("writes %q", got)
	}
}

func TestCloseWritesWhatIsHeldAndThenWritesThrough(t *testing.T) {
	s := newSink()
	b := New(s, time.Hour, 1<<20)
	b.Write([]byte("held\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.Write([]byte("after\n"))
	if got := s.all(); len(got) != 2 || got[0] != "held\n" || got[1] != "after\n" {
		t.Fatalf("writes %q", got)
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	b := New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}), 50*time.Microsecond, 256)
	testload.Each(8, func(g int) {
		for i := range 500 {
			fmt.Fprintf(b, "g%d-%d\n", g, i)
		}
	})
	b.Close()
	mu.Lock()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	mu.Unlock()
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	next := map[string]int{}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d-%d", &g, &i); err != nil {
			t.Fatalf("broken line %q", l)
		}
		if key := fmt.Sprint(g); next[key] != i {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[key]-1)
		}
		next[fmt.Sprint(g)] = i + 1
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
