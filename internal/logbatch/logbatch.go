// Package logbatch gathers log lines and writes them out together: a
// request line a request, each its own write system call, cost the widget
// read a few percent of its time under load, and the lines of one moment
// can as well leave in one write.
package logbatch

import (
	"io"
	"sync"
	"time"
)

// Writer holds what is written to it for at most a delay, or until it
// holds size bytes, then writes it to the underlying writer in one call,
// in the order written. Close writes what is held; after it, every write
// goes straight through. It is safe for concurrent use.
type Writer struct {
	w     io.Writer
	delay time.Duration
	size  int

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer
	armed  bool
	closed bool
}

// New returns a Writer to w that holds lines for at most delay and at most
// size bytes.
func New(w io.Writer, delay time.Duration, size int) *Writer {
	b := &Writer{w: w, delay: delay, size: size, buf: make([]byte, 0, size)}
	b.timer = time.AfterFunc(time.Hour, func() { _ = b.Flush() })
	b.timer.Stop()
	return b
}

// Write holds p (one whole log line, as slog's handlers write them) to be
// written with the others. An error of the underlying writer is reported
// by the write that meets it.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.size {
		return len(p), b.flushLocked()
	}
	if !b.armed {
		b.armed = true
		b.timer.Reset(b.delay)
	}
	return len(p), nil
}

// Flush writes what is held now.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *Writer) flushLocked() error {
	b.armed = false
	b.timer.Stop()
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 4*b.size {
		// A burst grew the buffer: give it back.
		b.buf = make([]byte, 0, b.size)
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// Close writes what is held; later writes go straight to the underlying
// writer. It does not close that writer.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.flushLocked()
}
