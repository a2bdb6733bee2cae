package main

import (
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSecretKeyRotationList(t *testing.T) {
	k1, k2 := strings.Repeat("a", 32), strings.Repeat("b", 40)
	c, err := loadConfig(envOf(map[string]string{"APP_ENV": "production", "SECRET_KEY": k1 + "," + k2}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SecretKeys) != 2 || string(c.SecretKeys[0]) != k1 || string(c.SecretKeys[1]) != k2 {
		t.Fatalf("keys = %q", c.SecretKeys)
	}
	if err := c.resolveSecret(); err != nil {
		t.Fatalf("production with keys: %v", err)
	}
	_, err = loadConfig(envOf(map[string]string{"SECRET_KEY": k1 + ",short"}))
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY: key 2") {
		t.Fatalf("short second key: %v", err)
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	for _, tc := range []struct {
		env  string
		ttl  time.Duration
		cost int
	}{{"production", time.Hour, 12}, {"development", 15 * time.Minute, 4}, {"testing", 5 * time.Second, 4}} {
		c, err := loadConfig(envOf(map[string]string{"APP_ENV": tc.env}))
		if err != nil || c.TokenTTL != tc.ttl || c.BcryptCost != tc.cost || c.Addr != "127.0.0.1:5000" ||
			c.DatabaseURL != "sqlite:///data/widgetapi-"+tc.env+".db" {
			t.Errorf("%s: %+v, %v", tc.env, c, err)
		}
	}
}
