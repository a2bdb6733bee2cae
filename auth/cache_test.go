package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
)

func TestVerifiedCacheIsBounded(t *testing.T) {
	c := newVerifiedCache(100)
	for i := range 1000 {
		c.put(fmt.Sprint(i), &widgetapi.TokenClaims{ID: fmt.Sprint(i)})
	}
	if len(c.m) > 100 {
		t.Fatalf("cache holds %d entries, max 100", len(c.m))
	}
	if v, ok := c.get("999"); !ok || v.ID != "999" {
		t.Fatal("the newest entry is missing")
	}
}

// A token verified once, and so cached, still expires on time and still
// hands out claims the caller cannot corrupt for others.
func TestCachedTokenStillExpires(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tokens, err := NewTokens(TokenConfig{Keys: [][]byte{[]byte("cache-test-key-0123456789abcdef0123")},
		TTL: time.Minute, Leeway: 2 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Issue(&widgetapi.User{PublicID: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := tokens.Verify(tok.Raw)
	if err != nil {
		t.Fatal(err)
	}
	first.Admin = true                            // a handler scribbling on its copy
	now = now.Add(time.Minute - time.Millisecond) // just before exp
	second, err := tokens.Verify(tok.Raw)
	if err != nil || second.Admin {
		t.Fatalf("second verify: %+v, %v", second, err)
	}
	now = now.Add(time.Millisecond) // exp: the leeway gives no grace
	if _, err := tokens.Verify(tok.Raw); widgetapi.ErrorMessage(err) != MsgExpired {
		t.Fatalf("cached token at exp: %v", err)
	}
}
