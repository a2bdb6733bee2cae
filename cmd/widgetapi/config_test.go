package main

import (
	"os"
	"strings"
	"sync"
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
	// A space after the comma is a separator, not part of the old key:
	// keeping it would refuse every token the old key signed.
	for _, v := range []string{k1 + ", " + k2, " " + k1 + " ,\t" + k2 + "\n"} {
		c, err := loadConfig(envOf(map[string]string{"SECRET_KEY": v}))
		if err != nil || len(c.SecretKeys) != 2 || string(c.SecretKeys[0]) != k1 || string(c.SecretKeys[1]) != k2 {
			t.Fatalf("SECRET_KEY=%q: keys %q, %v", v, c.SecretKeys, err)
		}
	}
	for _, v := range []string{k1 + ",", k1 + ",,", k1 + ", ", "," + k1} {
		if _, err := loadConfig(envOf(map[string]string{"SECRET_KEY": v})); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Fatalf("SECRET_KEY=%q: %v, want an empty key refused", v, err)
		}
	}
}

// Every way of writing a PostgreSQL password stays out of what is logged.
func TestDatabaseDescriptionHidesPasswords(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://alice:s3cr3t@db.example:5433/app", "postgres://alice@db.example:5433/app"},
		{"postgres://alice:s3%40cr3t@db.example/app?sslmode=disable", "postgres://alice@db.example:5432/app"},
		{"postgres://db.example/app?password=s3cr3t", ""}, // the user defaults to the OS user's name
		{"postgresql://db.example/app?user=alice&password=s3cr3t", "postgres://alice@db.example:5432/app"},
		{"postgres://alice:s3cr3t@db.example/app?sslpassword=s3cr3t&sslmode=disable", "postgres://alice@db.example:5432/app"},
		{"postgres://alice:s3cr3t@[::1/app", "(unrecognized DATABASE_URL)"},
		{"postgres://alice:s3@cr3t@db.example/app", "(unrecognized DATABASE_URL)"},
		{"mysql://alice:s3cr3t@db.example/app", "(unrecognized DATABASE_URL)"},
		{"sqlite:///data/x.db", "sqlite:///data/x.db"},
	} {
		got := describeDatabase(tc.url)
		if strings.Contains(got, "s3") || strings.Contains(got, "cr3t") || (tc.want != "" && got != tc.want) {
			t.Errorf("describeDatabase(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
	// Refused at start, without quoting the URL: pgx would read these with
	// the password's tail as the host or database.
	for _, u := range []string{"mysql://alice:s3cr3t@db.example/app", "mysql:alice:s3cr3t@x",
		"postgres://alice:s3@cr3t@db.example/app", "postgres://alice:s3/cr3t@db.example/app",
		"postgres://alice:s3cr3t@[::1/app", "postgresql://alice@db.example/s3@cr3t"} {
		if _, _, err := parseDatabaseURL(u); err == nil || strings.Contains(err.Error(), "s3") || strings.Contains(err.Error(), "cr3t") {
			t.Errorf("parseDatabaseURL(%q): %v", u, err)
		}
	}
}

func TestTokenTTLIsBounded(t *testing.T) {
	if _, err := loadConfig(envOf(map[string]string{"TOKEN_TTL": "8761h"})); err == nil || !strings.Contains(err.Error(), "TOKEN_TTL") {
		t.Fatalf("a TTL beyond a year: %v", err)
	}
	if c, err := loadConfig(envOf(map[string]string{"TOKEN_TTL": "8760h"})); err != nil || c.TokenTTL != 8760*time.Hour {
		t.Fatalf("a TTL of a year: %v", err)
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	for _, tc := range []struct {
		env     string
		ttl     time.Duration
		cost    int
		perAddr int
	}{{"production", time.Hour, 12, 1200}, {"development", 15 * time.Minute, 4, 1200}, {"testing", 5 * time.Second, 4, 0}} {
		c, err := loadConfig(envOf(map[string]string{"APP_ENV": tc.env}))
		// The per-address limit is off for test suites; per account it stays on.
		if err != nil || c.TokenTTL != tc.ttl || c.BcryptCost != tc.cost || c.Addr != "127.0.0.1:5000" ||
			c.AuthPerMinute != tc.perAddr || c.LoginFailuresPerMinute != 5 ||
			c.DatabaseURL != "sqlite:///data/widgetapi-"+tc.env+".db" {
			t.Errorf("%s: %+v, %v", tc.env, c, err)
		}
	}
}

// Many processes (here goroutines, which go through the same file system
// calls) generating the key at once end up with one complete key.
func TestGeneratedSecretKeyIsOneForAll(t *testing.T) {
	dir := t.TempDir()
	keys := make([]string, 32)
	errs := make([]error, 32)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := loadConfig(envOf(map[string]string{"DATA_DIR": dir}))
			if err == nil {
				err = c.resolveSecret()
			}
			if err == nil {
				keys[i] = string(c.SecretKeys[0])
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || len(keys[i]) != 64 || keys[i] != keys[0] {
			t.Fatalf("process %d: key %q, %v; want the one 64-digit key", i, keys[i], errs[i])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "secret_key" {
		t.Fatalf("DATA_DIR holds %v; want secret_key alone", entries)
	}
	if fi, _ := entries[0].Info(); fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret_key mode %o", fi.Mode().Perm())
	}
}
