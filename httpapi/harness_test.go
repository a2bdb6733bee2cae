package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"widgetapi"
	"widgetapi/admission"
	"widgetapi/auth"
	"widgetapi/httpapi"
	"widgetapi/internal/app"
	"widgetapi/internal/config"
	"widgetapi/internal/testbin"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testtoken"
	"widgetapi/keys"
)

// testKey signs the tokens of the test servers.
var testKey = []byte("test-signing-key-0123456789abcdef0123456789")

// startTime is the fixed instant the test clock starts at.
var startTime = time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)

// env is one running API server over a fresh database.
type env struct {
	t      testing.TB
	api    *httpapi.Server
	srv    *httptest.Server
	clock  *testclock.Clock
	store  testdb.Store
	auth   *auth.Service
	tokens *auth.Tokens
	loc    *time.Location
	// tracing is the tracer provider when cfg.OTLPEndpoint is set.
	tracing *sdktrace.TracerProvider
	// throttle keeps the server's limits.
	throttle widgetapi.Throttle
	// keys is the server's asymmetric key set (TOKEN_ALG EdDSA or ES256).
	keys *keys.Manager
}

// forge signs claims as the server signs its tokens, so that a test can
// make a token that fails for one reason only: HS256 with the server's
// SECRET_KEY (no kid, as tokens were before they carried one), or the
// server's asymmetric signing key with its kid.
func (e *env) forge(claims map[string]any) string {
	e.t.Helper()
	if e.keys == nil || !keys.Asymmetric(e.keys.Alg()) {
		return testtoken.Forge(e.t, map[string]any{"alg": "HS256", "typ": "JWT"}, claims, testKey)
	}
	kid, key, err := e.keys.SigningKey()
	if err != nil {
		e.t.Fatal(err)
	}
	return testtoken.ForgeWith(e.t, jwt.GetSigningMethod(e.keys.Alg()),
		map[string]any{"alg": e.keys.Alg(), "typ": "JWT", "kid": kid}, claims, key)
}

// envOptions adjust a test server: its configuration, as the service reads
// it, and what only tests change.
type envOptions struct {
	// cfg starts as the testing environment's configuration with a fixed
	// key, one-hour tokens, no leeway, UTC and no throttling (tests that
	// are not about throttling run without it); options edit it.
	cfg config.Config
	// logs receives the server's JSON log; wrapWidgets and wrapUsers may
	// wrap the store as the API and the auth service see it.
	logs        io.Writer
	wrapWidgets func(widgetapi.WidgetStore) widgetapi.WidgetStore
	wrapUsers   func(widgetapi.UserStore) widgetapi.UserStore
	// gate, when set, admits the auth service's bcrypt work.
	gate *admission.Gate
	// wrapReady may wrap the readiness check.
	wrapReady func(func(context.Context) error) func(context.Context) error
	// wakeMail, when set, is the function flows call after they queued
	// mail.
	wakeMail func()
	// throttleKeys, when set, bounds the keys of each limit an engine keeps
	// in memory (SQLite's) in place of the engine's 100,000, so that a
	// test can fill them.
	throttleKeys int
}

// keysStore is a store whose throttle holds at most keys keys a limit.
type keysStore struct {
	testdb.Store
	keys int
}

func (s keysStore) Throttle(l widgetapi.Limits) widgetapi.Throttle {
	l.MaxKeys = s.keys
	return s.Store.Throttle(l)
}

// testEnvironment is the environment the test servers' configuration is
// read from, before options change it.
var testEnvironment = map[string]string{
	"APP_ENV": "testing", "SECRET_KEY": string(testKey), "TOKEN_TTL": "1h", "TOKEN_LEEWAY": "0s", "TZ": "UTC",
	"LOGIN_FAILURE_LIMIT": "0", "AUTH_RATE_LIMIT": "0", "LOGIN_ACCOUNT_LIMIT": "0",
}

// newEnv starts a server on a fresh database of engine, wired as serve
// wires it (internal/app).
func newEnv(t testing.TB, engine testdb.Engine, opts ...func(*envOptions)) *env {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		if alg := os.Getenv(testbin.TokenAlgVar); k == "TOKEN_ALG" && alg != "" {
			return alg
		}
		return testEnvironment[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	o := envOptions{cfg: cfg, logs: io.Discard,
		wrapWidgets: func(w widgetapi.WidgetStore) widgetapi.WidgetStore { return w },
		wrapUsers:   func(u widgetapi.UserStore) widgetapi.UserStore { return u },
		wrapReady:   func(f func(context.Context) error) func(context.Context) error { return f }}
	for _, f := range opts {
		f(&o)
	}
	st := engine.Open(t)
	clk := testclock.New(startTime)
	gate := o.gate
	if gate == nil {
		// Tests are not about the bcrypt queue unless they bring a gate.
		gate = admission.New(admission.Config{Slots: 64, MaxQueue: 1024})
	}
	var served testdb.Store = st
	if o.throttleKeys > 0 {
		served = keysStore{st, o.throttleKeys}
	}
	svc, err := app.New(o.cfg, app.Deps{Store: served, Logger: slog.New(slog.NewJSONHandler(o.logs, nil)), Now: clk.Now,
		Gate: gate, Users: o.wrapUsers(st), Widgets: o.wrapWidgets(st), Ready: o.wrapReady(st.Ping), WakeMail: o.wakeMail})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("app shutdown: %v", err)
		}
	})
	srv := httptest.NewServer(svc.API)
	t.Cleanup(srv.Close)
	return &env{t: t, api: svc.API, srv: srv, clock: clk, store: st, auth: svc.Auth, tokens: svc.Tokens, loc: o.cfg.Location,
		tracing: svc.Tracing, throttle: svc.Throttle, keys: svc.Keys}
}

// prefixes parses CIDRs for TrustedProxies.
func prefixes(t testing.TB, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map, failing the test if it is not an object.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, r.Body)
	}
	return m
}

// request is a request to send to the server.
type request struct {
	Method string
	Path   string // under the server root, e.g. /api/v1/auth/login
	Token  string // sent as "Authorization: Bearer <Token>" when set
	Header map[string]string
	// Exactly one of the body forms may be set.
	Form      url.Values        // application/x-www-form-urlencoded
	Multipart map[string]string // multipart/form-data
	JSON      any               // application/json
	Raw       string            // sent as is, with Header's Content-Type
	// Conforms marks a request that the OpenAPI document describes, whatever
	// the server answers to it (a login with a wrong password conforms).
	// do and concurrently then validate the request as sent against the
	// document, and fail the test if it does not conform, including when
	// the document has no such operation.
	Conforms bool
}

// do sends req, reads the whole response and checks it against the
// OpenAPI document; a request marked Conforms is checked against it too.
func (e *env) do(req request) response {
	e.t.Helper()
	hr, res, err := e.send(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if req.Conforms {
		checkRequestAgainstOpenAPI(e.t, hr)
	}
	checkAgainstOpenAPI(e.t, hr, res)
	return res
}

// concurrently sends every request at the same moment and returns the
// responses in order.
func (e *env) concurrently(reqs []request) []response {
	e.t.Helper()
	out := make([]response, len(reqs))
	sent := make([]*http.Request, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sent[i], out[i], errs[i] = e.send(req)
		}()
	}
	close(start)
	wg.Wait()
	for i := range reqs {
		if errs[i] != nil {
			e.t.Fatalf("request %d: %v", i, errs[i])
		}
		if reqs[i].Conforms {
			checkRequestAgainstOpenAPI(e.t, sent[i])
		}
		checkAgainstOpenAPI(e.t, sent[i], out[i])
	}
	return out
}

// send sends req and reads the whole response; safe to call from goroutines.
func (e *env) send(req request) (*http.Request, response, error) {
	return e.sendContext(context.Background(), req)
}

// sendContext is send with the request bound to ctx.
func (e *env) sendContext(ctx context.Context, req request) (*http.Request, response, error) {
	var body io.Reader
	ct := ""
	switch {
	case req.Form != nil:
		body, ct = strings.NewReader(req.Form.Encode()), "application/x-www-form-urlencoded"
	case req.Multipart != nil:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range req.Multipart {
			if err := mw.WriteField(k, v); err != nil {
				return nil, response{}, err
			}
		}
		mw.Close()
		body, ct = &buf, mw.FormDataContentType()
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, response{}, err
		}
		body, ct = bytes.NewReader(b), "application/json"
	case req.Raw != "":
		body = strings.NewReader(req.Raw)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, e.srv.URL+req.Path, body)
	if err != nil {
		return nil, response{}, err
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		return nil, response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, response{}, err
	}
	return hr, response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// register creates a user over HTTP and returns their token.
func (e *env) register(email, password string) string {
	e.t.Helper()
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/register",
		Form: url.Values{"email": {email}, "password": {password}}, Conforms: true})
	if res.Status != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", email, res.Status, res.Body)
	}
	return res.JSON(e.t)["access_token"].(string)
}

// admin creates an administrator the way `widgetapi user add --admin` does
// and returns a token for them obtained by logging in over HTTP.
func (e *env) admin(email string) string {
	e.t.Helper()
	if _, err := e.auth.CreateUser(context.Background(), email, "admin-password", true); err != nil {
		e.t.Fatal(err)
	}
	res := e.do(request{Method: "POST", Path: "/api/v1/auth/login",
		Form: url.Values{"email": {email}, "password": {"admin-password"}}, Conforms: true})
	if res.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, res.Status, res.Body)
	}
	return res.JSON(e.t)["access_token"].(string)
}

// user returns the stored user with email.
func (e *env) user(email string) *widgetapi.User {
	e.t.Helper()
	u, err := e.store.FindUserByEmail(context.Background(), widgetapi.NormalizeEmail(email))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}
