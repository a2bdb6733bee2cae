package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"widgetapi/admission"
	"widgetapi/httpapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

// severe returns the lines at WARN and above: what LOG_LEVEL=warn keeps.
func severe(lines []map[string]any) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["level"] == "WARN" || l["level"] == "ERROR" {
			out = append(out, l)
		}
	}
	return out
}

// heldGate starts a server logging to the returned buffer, whose bcrypt
// gate has one slot and room for queue waiting, registers email, and takes
// the slot until the test ends: every password check waits, or past queue
// is refused.
func heldGate(t *testing.T, engine testdb.Engine, queue int, email string) (*env, *admission.Gate, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	g := admission.New(admission.Config{Slots: 1, MaxQueue: queue})
	e := newEnv(t, engine, func(o *envOptions) { o.logs, o.gate = logs, g })
	e.register(email, "password1")
	hold, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hold)
	return e, g, logs
}

// requestLines counts the request lines of a log with status.
func requestLines(lines []map[string]any, status int) int {
	n := 0
	for _, l := range lines {
		if l["msg"] == "request" && l["status"] == float64(status) {
			n++
		}
	}
	return n
}

// Refusals for overload are logged at WARN, the first of each cause in a
// second with the count of those left out since; each request's line
// stays, at INFO. Each refusal by the bcrypt gate once wrote two ERROR
// lines, whatever LOG_LEVEL: 1.17 million refusals made a 664 MB log.
// Three hundred logins at once against a full gate, in one second of the
// test clock, then one more a second later; then anonymous bodies past
// their bound, a cause of its own.
func TestOverloadIsLoggedOnceASecondPerCause(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		e, g, logs := heldGate(t, engine, 1, "flood@example.com")
		// The queue's one place taken too: every login is refused at once.
		go func() {
			if release, err := g.Acquire(context.Background()); err == nil {
				release()
			}
		}()
		awaitGate(t, g, 1)

		login := request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"flood@example.com"}, "password": {"password1"}}}
		const flood = 300
		reqs := make([]request, flood)
		for i := range reqs {
			reqs[i] = login
		}
		for _, res := range e.concurrently(reqs) {
			if res.Status != http.StatusServiceUnavailable {
				t.Fatalf("a login against the full gate: %d %s", res.Status, res.Body)
			}
		}
		lines := logs.Lines(t)
		warned := severe(lines)
		if len(warned) != 1 || warned[0]["msg"] != "overloaded" || warned[0]["level"] != "WARN" ||
			warned[0]["cause"] != "password hashing" || warned[0]["suppressed"] != float64(0) {
			t.Fatalf("%d refusals in one second logged at WARN and above as %v; want one overloaded line", flood, warned)
		}
		if requests := requestLines(lines, http.StatusServiceUnavailable); requests != flood {
			t.Fatalf("%d request lines for %d refusals", requests, flood)
		}

		e.clock.Advance(999 * time.Millisecond)
		e.do(login)
		if n := len(severe(logs.Lines(t))); n != 1 {
			t.Fatalf("a refusal within the second was logged: %d lines", n)
		}
		e.clock.Advance(time.Millisecond)
		e.do(login)
		warned = severe(logs.Lines(t))
		if len(warned) != 2 || warned[1]["cause"] != "password hashing" || warned[1]["suppressed"] != float64(flood) {
			t.Fatalf("the next second's refusal: %v; want a line counting the %d suppressed", warned, flood)
		}

		// Anonymous bodies past their address's bound: another cause, logged at
		// once although the gate's refusals were logged this second.
		for range httpapi.MaxAnonymousBodyReadsPerAddress {
			e.holdBody("/api/v1/auth/login", "", 10, "")
		}
		e.awaitBodyReads(bodyReads{anonymous: httpapi.MaxAnonymousBodyReadsPerAddress, inFlight: httpapi.MaxAnonymousBodyReadsPerAddress})
		e.do(login)
		e.do(login)
		warned = severe(logs.Lines(t))
		if len(warned) != 3 || warned[2]["cause"] != "body reads" || warned[2]["suppressed"] != float64(0) {
			t.Fatalf("refusals for body reads: %v; want one line of their own", warned)
		}
	})
}
