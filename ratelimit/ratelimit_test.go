package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestAllowSpendsTheBurstThenRefills(t *testing.T) {
	k := New(6, 3, 100) // one token every 10s, 3 at once
	for i := range 3 {
		if ok, _ := k.Allow("a", t0); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, wait := k.Allow("a", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with 10s", ok, wait)
	}
	if ok, _ := k.Allow("b", t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := k.Allow("a", t0.Add(10*time.Second)); !ok {
		t.Fatal("no token after the refill interval")
	}
}

func TestResetRefills(t *testing.T) {
	k := New(6, 1, 100)
	if ok, _ := k.Allow("a", t0); !ok {
		t.Fatal("first request refused")
	}
	if ok, wait := k.Allow("a", t0.Add(4*time.Second)); ok || wait != 6*time.Second {
		t.Fatalf("after spending: ok=%v wait=%v", ok, wait)
	}
	k.Reset("a")
	if ok, _ := k.Allow("a", t0.Add(4*time.Second)); !ok {
		t.Fatal("Reset did not refill")
	}
}

func TestDisabled(t *testing.T) {
	k := New(0, 1, 1)
	for range 100 {
		if ok, _ := k.Allow("a", t0); !ok {
			t.Fatal("a disabled limiter refused")
		}
	}
	var nilK *Keyed
	if ok, _ := nilK.Allow("a", t0); !ok {
		t.Fatal("a nil limiter refused")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	k := New(60, 5, 1000)
	k.Allow("spent", t0)
	for i := range 10_000 {
		k.Allow(fmt.Sprint("key", i), t0)
	}
	if n := k.Len(); n > 1000 {
		t.Fatalf("holds %d keys, cap is 1000", n)
	}
}
