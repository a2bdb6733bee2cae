package httpapi

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"widgetapi"
)

// awaitWaiting waits until n anonymous bodies wait for a read.
func awaitWaiting(t *testing.T, b *bodyReads, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for b.waiting.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d bodies waiting, want %d", b.waiting.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// With every anonymous read taken, another anonymous body waits: it gets
// the first read given back, gives up when its client does, and is
// refused when its wait ends. A body with a token never waits.
func TestAnAnonymousBodyWaitsForARead(t *testing.T) {
	b := newBodyReads()
	b.wait = time.Hour // the refusal is below, with a wait that ends
	anonymous := httptest.NewRequest("POST", "/api/v1/auth/login", nil)
	var held []func()
	for range MaxAnonymousBodyReads {
		done, err := b.start(anonymous)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, done)
	}

	got := make(chan error, 1)
	go func() {
		done, err := b.start(anonymous)
		if err == nil {
			done()
		}
		got <- err
	}()
	awaitWaiting(t, b, 1)
	held[0]()
	if err := <-got; err != nil {
		t.Fatalf("a waiting body did not get the read given back: %v", err)
	}
	done, err := b.start(anonymous) // the read it gave back
	if err != nil {
		t.Fatal(err)
	}
	held[0] = done

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := b.start(anonymous.WithContext(ctx))
		got <- err
	}()
	awaitWaiting(t, b, 1)
	cancel()
	if err := <-got; widgetapi.ErrorCode(err) != widgetapi.ECANCELED {
		t.Fatalf("a waiting body whose client left: %v", err)
	}

	withToken := anonymous.WithContext(context.WithValue(context.Background(), claimsKey{}, &widgetapi.TokenClaims{}))
	done, err = b.start(withToken)
	if err != nil || b.authenticated.Load() != 1 {
		t.Fatalf("a body with a token: %v, %d reading", err, b.authenticated.Load())
	}
	done()

	b.wait = time.Millisecond
	if _, err := b.start(anonymous); err != errBodyReadsBusy {
		t.Fatalf("a body whose wait ended: %v", err)
	}
	for _, done := range held {
		done()
	}
	if len(b.anonymous) != 0 || b.waiting.Load() != 0 || b.authenticated.Load() != 0 {
		t.Fatalf("reads left: %d anonymous, %d waiting, %d authenticated", len(b.anonymous), b.waiting.Load(), b.authenticated.Load())
	}
}
