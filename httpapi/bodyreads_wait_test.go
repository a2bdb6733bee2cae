package httpapi

import (
	"context"
	"fmt"
	"net/http"
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
	anonymous := from("192.0.2.200")
	var held []func()
	for i := range MaxAnonymousBodyReads {
		done, err := b.start(from(fmt.Sprintf("198.18.%d.%d", i/MaxAnonymousBodyReadsPerAddress/256, i/MaxAnonymousBodyReadsPerAddress%256)))
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
	if len(b.anonymous) != 0 || b.waiting.Load() != 0 || b.authenticated.Load() != 0 || len(b.addresses) != 0 {
		t.Fatalf("reads left: %d anonymous, %d waiting, %d authenticated, %d addresses",
			len(b.anonymous), b.waiting.Load(), b.authenticated.Load(), len(b.addresses))
	}
}

// from is an anonymous request from a client at address, as the server's
// middleware records it.
func from(address string) *http.Request {
	r := httptest.NewRequest("POST", "/api/v1/auth/login", nil)
	return r.WithContext(widgetapi.NewContextWithRequest(r.Context(), widgetapi.RequestInfo{Address: address}))
}

// One address gets MaxAnonymousBodyReadsPerAddress reads; its next body
// waits for one of them, however many the server has free, while other
// addresses read at once. An IPv6 client is its /64; an address whose
// requests are all gone is forgotten.
func TestAnAddressWaitsForItsOwnReads(t *testing.T) {
	b := newBodyReads()
	b.wait = time.Hour
	for _, c := range []struct{ name, client, same, other string }{
		{"IPv4", "203.0.113.7", "203.0.113.7", "203.0.113.8"},
		{"IPv6", "2001:db8:1::1", "2001:db8:1:0:ffff::9", "2001:db8:2::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var held []func()
			for range MaxAnonymousBodyReadsPerAddress {
				done, err := b.start(from(c.client))
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, done)
			}
			got := make(chan error, 1)
			go func() {
				done, err := b.start(from(c.same))
				if err == nil {
					done()
				}
				got <- err
			}()
			awaitWaiting(t, b, 1)
			done, err := b.start(from(c.other))
			if err != nil {
				t.Fatalf("another address, with the server's reads free: %v", err)
			}
			done()
			select {
			case err := <-got:
				t.Fatalf("the address's next body did not wait for its own reads: %v", err)
			default:
			}
			held[0]()
			if err := <-got; err != nil {
				t.Fatalf("a waiting body did not get its address's read given back: %v", err)
			}
			for _, done := range held[1:] {
				done()
			}
			if len(b.addresses) != 0 || len(b.anonymous) != 0 {
				t.Fatalf("%d addresses and %d reads left", len(b.addresses), len(b.anonymous))
			}
		})
	}
	b.wait = time.Millisecond
	var held []func()
	for range MaxAnonymousBodyReadsPerAddress {
		done, _ := b.start(from("203.0.113.9"))
		held = append(held, done)
	}
	if _, err := b.start(from("203.0.113.9")); err != errBodyReadsBusy {
		t.Fatalf("a body whose wait for its address's reads ended: %v", err)
	}
	for _, done := range held {
		done()
	}
	if len(b.addresses) != 0 || b.waiting.Load() != 0 {
		t.Fatalf("%d addresses, %d waiting left", len(b.addresses), b.waiting.Load())
	}
}

// A body that waited for its address's read and then finds the server's
// reads all taken waits only what is left of its one wait: the wait once
// ended with the first take, and the second waited for ever.
func TestOneWaitCoversBothReads(t *testing.T) {
	b := newBodyReads()
	b.wait = 100 * time.Millisecond
	own, server := make(chan struct{}, 1), make(chan struct{}, 1)
	own <- struct{}{}
	server <- struct{}{}
	r := from("203.0.113.10")
	got := make(chan error, 1)
	go func() {
		var wait *time.Timer
		if err := b.take(r, own, &wait); err != nil {
			got <- err
			return
		}
		got <- b.take(r, server, &wait)
	}()
	awaitWaiting(t, b, 1)
	<-own // the address's read is given back; the server's stay taken
	select {
	case err := <-got:
		if err != errBodyReadsBusy {
			t.Fatalf("the second read: %v, want the refusal at the end of the wait", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the second read was still waiting a minute after a wait of 100 ms began")
	}
}
