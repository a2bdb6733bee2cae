package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/admission"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

// awaitGate waits until the gate holds want waiting hashes. It watches the
// gate's own state, which the request under test changes.
func awaitGate(t *testing.T, g *admission.Gate, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for g.Stats().Waiting != want {
		if time.Now().After(deadline) {
			t.Fatalf("gate: %+v, want %d waiting", g.Stats(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// Password hashing goes through the gate: with its slots taken and its queue
// full, a login or a registration is refused at once with 503 and
// Retry-After instead of adding more bcrypt work.
func TestPasswordHashingIsAdmittedByTheGate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		g := admission.New(admission.Config{Slots: 1, MaxQueue: 1})
		e := newEnv(t, engine, func(o *envOptions) { o.gate = g })
		e.register("gated@example.com", "password1")

		hold, err := g.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		queued := make(chan error, 1)
		go func() {
			release, err := g.Acquire(context.Background())
			if err == nil {
				release()
			}
			queued <- err
		}()
		awaitGate(t, g, 1)
		for _, req := range []request{
			{Method: "POST", Path: "/api/v1/auth/login", Form: url.Values{"email": {"gated@example.com"}, "password": {"password1"}}},
			{Method: "POST", Path: "/api/v1/auth/register", Form: url.Values{"email": {"new@example.com"}, "password": {"password1"}}},
		} {
			res := e.do(req)
			if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
				!strings.Contains(res.JSON(t)["message"].(string), "busy") {
				t.Fatalf("%s with the gate full: %d %v %s", req.Path, res.Status, res.Header, res.Body)
			}
		}
		hold()
		if err := <-queued; err != nil {
			t.Fatal(err)
		}
		if res := e.do(request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"gated@example.com"}, "password": {"password1"}}}); res.Status != http.StatusOK {
			t.Fatalf("login once the gate is free: %d %s", res.Status, res.Body)
		}
		if st := g.Stats(); st.Running != 0 || st.Waiting != 0 {
			t.Fatalf("gate after the requests: %+v", st)
		}
	})
}

// blockedWidgets holds CreateWidget until the client has hung up, then runs
// the real engine with the canceled context.
type blockedWidgets struct {
	widgetapi.WidgetStore
	reached chan struct{}
}

func (b blockedWidgets) CreateWidget(ctx context.Context, w *widgetapi.Widget, ev *widgetapi.Event) error {
	b.reached <- struct{}{}
	<-ctx.Done()
	return b.WidgetStore.CreateWidget(ctx, w, ev)
}

// A client that hangs up is its own outcome: no error-level line, no
// "database unavailable", and 499 rather than 503 in the metrics, whether
// the request was waiting for a bcrypt slot, for the database, or in the
// readiness check.
func TestAClientThatHangsUpIsNotAnOutage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, engine testdb.Engine) {
		logs := &testlog.Buffer{}
		g := admission.New(admission.Config{Slots: 1, MaxQueue: 4})
		reached := make(chan struct{}, 1)
		e := newEnv(t, engine, func(o *envOptions) {
			o.logs, o.gate = logs, g
			o.wrapWidgets = func(w widgetapi.WidgetStore) widgetapi.WidgetStore {
				return blockedWidgets{WidgetStore: w, reached: reached}
			}
			o.wrapReady = func(ping func(context.Context) error) func(context.Context) error {
				return func(ctx context.Context) error {
					reached <- struct{}{}
					<-ctx.Done()
					return ping(ctx)
				}
			}
		})
		admin := e.admin("hangup-admin@example.com")

		// hangUp sends req, cancels it once wait says the server is at work
		// on it, and waits for the server to log its answer.
		hangUp := func(req request, wait func()) {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, _, err := e.sendContext(ctx, req)
				done <- err
			}()
			wait()
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: the client was not canceled: %v", req.Path, err)
			}
		}
		hold, err := g.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		hangUp(request{Method: "POST", Path: "/api/v1/auth/login",
			Form: url.Values{"email": {"hangup-admin@example.com"}, "password": {"admin-password"}}},
			func() { awaitGate(t, g, 1) })
		awaitGate(t, g, 0) // the server has seen the hang-up
		hold()
		hangUp(request{Method: "POST", Path: "/api/v1/widgets", Token: admin,
			Form: widgetForm("abandoned", "https://example.com", "2099-12-31")}, func() { <-reached })
		hangUp(request{Method: "GET", Path: "/readyz"}, func() { <-reached })

		routes := []string{"POST /api/v1/auth/login", "POST /api/v1/widgets", "GET /readyz"}
		var lines []map[string]any
		deadline := time.Now().Add(30 * time.Second)
		for {
			lines = logs.Lines(t)
			logged := 0
			for _, l := range lines {
				if l["msg"] == "request" && l["status"] == float64(499) {
					logged++
				}
			}
			if logged == len(routes) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("want %d requests logged with status 499; log:\n%v", len(routes), lines)
			}
			time.Sleep(time.Millisecond)
		}
		for _, l := range lines {
			if l["level"] == "ERROR" || l["level"] == "WARN" || l["msg"] == "database unavailable" {
				t.Errorf("a hang-up was logged as a failure: %v", l)
			}
		}
		metrics := string(e.do(request{Method: "GET", Path: "/metrics"}).Body)
		for _, route := range routes {
			method, _, _ := strings.Cut(route, " ")
			if !strings.Contains(metrics, `widgetapi_http_requests_total{method="`+method+`",route="`+route+`",status="499"} 1`) {
				t.Errorf("metrics do not count the hang-up on %s as 499", route)
			}
		}
		if strings.Contains(metrics, `status="503"`) {
			t.Errorf("a hang-up was counted as 503:\n%s", metrics)
		}
		// Nothing was created by the abandoned request.
		if res := e.do(request{Method: "GET", Path: "/api/v1/widgets/abandoned", Token: admin}); res.Status != http.StatusNotFound {
			t.Errorf("abandoned create: GET %d", res.Status)
		}
	})
}
