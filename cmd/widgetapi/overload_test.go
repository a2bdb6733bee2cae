package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// overloadedLines decodes the server's log, which at LOG_LEVEL=warn must
// hold nothing but the sampled lines of refusals for overload.
func overloadedLines(t *testing.T, s *server) []map[string]any {
	t.Helper()
	lines := s.Stderr.Lines(t)
	for _, l := range lines {
		if l["level"] != "WARN" || l["msg"] != "overloaded" || l["cause"] != "password hashing" {
			t.Fatalf("at LOG_LEVEL=warn an overload logged %v", l)
		}
	}
	return lines
}

// A flood of logins against a tiny bcrypt gate (one slot and eight
// waiting, as GOMAXPROCS=1 sizes it, at cost 14) is refused with 503, and
// at LOG_LEVEL=warn the log holds one line a second, not two ERROR lines
// a refusal (1.17 million refusals once made a 664 MB log).
func TestAGateFloodIsLoggedOnceASecond(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *cli) {
		c.env = append(c.env, "LOG_LEVEL=warn", "GOMAXPROCS=1", "BCRYPT_COST=14",
			"AUTH_RATE_LIMIT=0", "LOGIN_FAILURE_LIMIT=0", "LOGIN_ACCOUNT_LIMIT=0")
		s := c.serve()
		login := s.URL + "/api/v1/auth/login"
		if code := postStatus(s.URL+"/api/v1/auth/register", "", creds("flood@example.com", "password1")); code != http.StatusCreated {
			t.Fatalf("register: %d", code)
		}

		const clients, flood = 48, 2000
		var refused atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for refused.Load() < flood {
					if sendLogin(login) == http.StatusServiceUnavailable {
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		lines := overloadedLines(t, s)
		t.Logf("%d refusals in %v logged in %d lines", refused.Load(), elapsed.Round(time.Millisecond), len(lines))
		if max := int(elapsed/time.Second) + 1; len(lines) > max {
			t.Fatalf("%d lines in %v; at most one a second", len(lines), elapsed)
		}

		// Each line counts the refusals left out since the one before
		// (the in-process test checks the counts exactly, on a test
		// clock); together they never claim more than there were.
		accounted := 0
		for _, l := range lines {
			accounted += 1 + int(l["suppressed"].(float64))
		}
		if int64(accounted) > refused.Load() || lines[0]["suppressed"] != float64(0) {
			t.Fatalf("the lines account for %d refusals, the first for %v more; the clients had %d",
				accounted, lines[0]["suppressed"], refused.Load())
		}
		if !metricsContain(s.URL, `widgetapi_http_requests_total{method="POST",route="POST /api/v1/auth/login",status="503"} `+
			strconv.FormatInt(refused.Load(), 10)+"\n") {
			t.Errorf("the metrics do not count %d refusals", refused.Load())
		}
	})
}

// sendLogin posts a login and returns the status; a login the gate admits
// waits its turn for seconds, so one that has not been answered within two
// seconds is given up (-1).
func sendLogin(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(creds("flood@example.com", "password1").Encode()))
	if err != nil {
		return -1
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	res.Body.Close()
	return res.StatusCode
}
