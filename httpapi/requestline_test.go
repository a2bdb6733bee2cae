package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A request line written by hand is what slog's JSON handler writes for
// the same record, byte for byte: for any path a client may send (quotes,
// controls, invalid UTF-8, U+2028), each level, with and without a trace
// id, at times with and without fractions of a second, in any zone.
func TestRequestLineMatchesSlog(t *testing.T) {
	paris := mustLocation(t, "Europe/Paris")
	times := []time.Time{
		time.Date(2026, 12, 6, 14, 21, 20, 345914668, time.UTC),
		time.Date(2026, 12, 6, 14, 21, 20, 0, time.UTC),
		time.Date(2026, 7, 1, 2, 3, 4, 500000000, paris),
		time.Now(),
	}
	paths := []string{
		"/api/v1/widgets/w0000001",
		"/api/v1/widgets/a\"b\\c",
		"/api/v1/widgets/\x00\x01\x1f\n\r\t",
		"/api/v1/widgets/\xff\xfe<>&",
		"/api/v1/widgets/caf\u00e9\u2028\u2029\U0001F600",
		"",
	}
	lines := []requestLine{
		{method: "GET", route: "GET /api/v1/widgets/{name}", status: 200, bytes: 619, duration: 123456789,
			id: "6f3c1e1d41c3b6d301b76192afbbb77b", remote: "127.0.0.1:54321"},
		{method: "BREW", route: "unmatched", status: 500, bytes: 0, duration: 0, id: "client-id\"", remote: "[::1]:80",
			traceID: "4bf92f3577b34da6a3ce929d0e0e4736"},
		{method: "DELETE", route: "DELETE /api/v1/widgets/{name}", status: 204, bytes: -1, duration: -5, id: "", remote: ""},
	}
	for _, when := range times {
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelError, slog.LevelWarn, slog.LevelDebug} {
			for _, path := range paths {
				for _, l := range lines {
					l.path, l.at = path, when
					var want bytes.Buffer
					rec := slog.NewRecord(when, level, "request", 0)
					rec.AddAttrs(
						slog.String("method", l.method), slog.String("route", l.route), slog.String("path", l.path),
						slog.Int("status", l.status), slog.Int64("bytes", l.bytes), slog.Duration("duration", l.duration),
						slog.String("request_id", l.id), slog.String("remote", l.remote))
					if l.traceID != "" {
						rec.AddAttrs(slog.String("trace_id", l.traceID))
					}
					if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), rec); err != nil {
						t.Fatal(err)
					}
					if got := appendRequestLine(nil, level, &l); string(got) != want.String() {
						t.Fatalf("by hand:\n%s\nslog:\n%s", got, want.String())
					}
				}
			}
		}
	}
}

// With RequestLines set, the line goes there and not through the logger,
// and a level the logger does not log drops it, as slog would.
func TestRequestLinesRespectTheLoggersLevel(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		want  bool
	}{{slog.LevelInfo, true}, {slog.LevelWarn, false}} {
		var viaLogger, lines bytes.Buffer
		s := &Server{Config: Config{RequestLines: &lines}}
		s.logger = slog.New(slog.NewJSONHandler(&viaLogger, &slog.HandlerOptions{Level: tc.level}))
		s.logRequest(context.Background(), slog.LevelInfo, &requestLine{method: "GET", route: "unmatched", path: "/", status: 404})
		if viaLogger.Len() != 0 {
			t.Fatalf("logger level %v: the logger wrote %q", tc.level, viaLogger.String())
		}
		if got := strings.Contains(lines.String(), `"msg":"request","method":"GET","route":"unmatched","path":"/","status":404`); got != tc.want {
			t.Fatalf("logger level %v: lines %q", tc.level, lines.String())
		}
	}
}
