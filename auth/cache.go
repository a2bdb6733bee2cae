package auth

import (
	"sync"

	"widgetapi"
)

// verifiedCache maps raw tokens to their verified claims, holding at most
// max entries.
type verifiedCache struct {
	max int

	mu sync.RWMutex
	m  map[string]widgetapi.TokenClaims
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, m: make(map[string]widgetapi.TokenClaims, max)}
}

func (c *verifiedCache) get(raw string) (widgetapi.TokenClaims, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[raw]
	return v, ok
}

func (c *verifiedCache) put(raw string, claims *widgetapi.TokenClaims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Drop about half, at random (map order): cheap, and a token
		// dropped by mistake only costs one more verification.
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[raw] = *claims
}
