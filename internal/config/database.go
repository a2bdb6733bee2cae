package config

import (
	"fmt"
	"strings"

	"widgetapi/postgres"
)

// ParseDatabaseURL returns the engine ("sqlite" or "postgres") of a
// DATABASE_URL and, for SQLite, the file path. Like SQLAlchemy,
// sqlite:///x.db is relative and sqlite:////x.db absolute. Its errors never
// quote a password.
func ParseDatabaseURL(u string) (engine, path string, err error) {
	switch {
	case strings.HasPrefix(u, "sqlite:///"):
		path = strings.TrimPrefix(u, "sqlite:///")
		if path == "" || strings.ContainsAny(path, "?#") {
			return "", "", fmt.Errorf("DATABASE_URL: %q needs a file path, e.g. sqlite:///data/widgetapi.db", u)
		}
		return "sqlite", path, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "postgres", "", postgres.CheckURL(u)
	}
	// The rest of the URL may hold a password; name only its scheme.
	scheme, _, _ := strings.Cut(u, ":")
	return "", "", fmt.Errorf("DATABASE_URL: %q must start with sqlite:/// or postgres://", truncate(scheme, 20)+":…")
}

// DescribeDatabase names the database of a DATABASE_URL for logs and
// messages, with no credentials: however a password is written (in the
// user info, with an unescaped @, or as a query parameter), only the parts
// that name the server and database are shown.
func DescribeDatabase(u string) string {
	engine, path, err := ParseDatabaseURL(u)
	switch {
	case err != nil:
		return "(unrecognized DATABASE_URL)"
	case engine == "sqlite":
		return "sqlite:///" + path
	}
	return postgres.Describe(u)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
