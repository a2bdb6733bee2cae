package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"widgetapi/postgres"
)

// PostgresURLVar names the variable holding the URL of a PostgreSQL server
// whose user may create schemas, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresURLVar = "WIDGETAPI_TEST_POSTGRES_URL"

// howToEnable says how to run the tests that need PostgreSQL.
const howToEnable = "set " + PostgresURLVar + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them"

// PostgresURL returns the server URL, skipping the test when it is unset
// outside CI and failing it under CI=true, where a missing service is an error.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLVar)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: PostgreSQL tests cannot be skipped in CI", PostgresURLVar)
		}
		skipped.Add(1)
		t.Skipf("PostgreSQL tests skipped: %s", howToEnable)
	}
	return u
}

func postgresEngine(t testing.TB) (Engine, bool) {
	if os.Getenv(PostgresURLVar) == "" && os.Getenv("CI") != "true" {
		skipped.Add(1)
		t.Logf("PostgreSQL engine skipped: %s", howToEnable)
		return Engine{}, false
	}
	return Engine{Name: "postgres", Open: OpenPostgres}, true
}

// FreshSchemaURL creates an empty schema, dropped when the test ends, and
// returns a URL whose connections use it. Schemas are much cheaper to create
// than databases, and isolate tests just as well.
func FreshSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema on %s: %v", PostgresURLVar, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresURLVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a fresh, migrated PostgreSQL store in its own schema.
func OpenPostgres(t testing.TB) Store {
	t.Helper()
	url := FreshSchemaURL(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 8, Timeout: 10 * time.Second})
	st := opened(t, db, err)
	remember(st, "pgx", url)
	return st
}
