package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"widgetapi"
	"widgetapi/httpapi"
	"widgetapi/internal/testtoken"
)

// The served OpenAPI document, loaded once per test binary.
var (
	docOnce   sync.Once
	doc       *openapi3.T
	docRouter routers.Router
	docErr    error
)

func openAPIDoc(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, docErr = loader.LoadFromData(httpapi.OpenAPI())
		if docErr != nil {
			return
		}
		if docErr = doc.Validate(context.Background()); docErr != nil {
			return
		}
		// The document's server is the relative "/", which the router cannot
		// match against a test server's host; route by path alone.
		routed := *doc
		routed.Servers = nil
		docRouter, docErr = legacy.NewRouter(&routed)
	})
	if docErr != nil {
		t.Fatalf("OpenAPI document: %v", docErr)
	}
	return doc, docRouter
}

// unroutedResponse is the document's answer to requests that match no
// operation: an unknown route is components/responses/NotFound, which the
// UI's missing files share; a known path with a wrong method is the 405 of
// the root's x-unrouted-responses, since no operation may list it. nil
// when the document has none.
func unroutedResponse(t testing.TB, d *openapi3.T, status int) *openapi3.ResponseRef {
	t.Helper()
	if status == http.StatusNotFound {
		return d.Components.Responses["NotFound"]
	}
	raw, err := json.Marshal(d.Extensions["x-unrouted-responses"])
	if err != nil {
		t.Fatal(err)
	}
	var byStatus map[string]*openapi3.Response
	if err := json.Unmarshal(raw, &byStatus); err != nil {
		t.Fatalf("x-unrouted-responses: %v", err)
	}
	r := byStatus[strconv.Itoa(status)]
	if r == nil {
		return nil
	}
	// The document's loader leaves references in an extension alone.
	for name, h := range r.Headers {
		if h.Value == nil {
			ref := d.Components.Headers[strings.TrimPrefix(h.Ref, "#/components/headers/")]
			if ref == nil {
				t.Fatalf("x-unrouted-responses/%d: header %s refers to %q, which is not in the document", status, name, h.Ref)
			}
			h.Value = ref.Value
		}
	}
	return &openapi3.ResponseRef{Value: r}
}

// checkAgainstOpenAPI validates every response of the HTTP suite against
// the document. A request the document has no operation for must get one
// of the document's answers to such requests (unroutedResponses), checked
// against it, or be a mux redirect to a clean path. Preflights and HEAD are
// not checked.
func checkAgainstOpenAPI(t testing.TB, req *http.Request, res response) {
	t.Helper()
	d, router := openAPIDoc(t)
	if req.Method == http.MethodOptions || req.Method == http.MethodHead {
		return // preflights, and HEAD, which has no body to check
	}
	r := req.Clone(context.Background())
	r.Body = nil
	route, params, err := router.FindRoute(r)
	if err == nil && res.Status == http.StatusMethodNotAllowed {
		// The router may take a path for a template of another path with
		// the method (PATCH /widgets for PATCH /widgets/{name}); the 405
		// says the server serves no such operation.
		err = errors.New("no operation with this method")
	}
	if err != nil {
		switch res.Status {
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			route, params = unroutedRoute(t, d, r, res.Status), nil
			if route == nil {
				return
			}
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return
		default:
			t.Errorf("%s %s -> %d, but the OpenAPI document has no such operation: %v", req.Method, req.URL.Path, res.Status, err)
			return
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts},
		Status:                 res.Status,
		Header:                 res.Header,
		Options:                opts,
	}
	in.SetBodyBytes(res.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d does not match the OpenAPI document: %v\nbody: %.300s", req.Method, req.URL.Path, res.Status, err, res.Body)
	}
}

// unroutedRoute is a route whose one operation answers status with the
// document's response for requests that match no operation, so that such
// an answer is validated like any other; nil, after an error, when the
// document has none.
func unroutedRoute(t testing.TB, d *openapi3.T, r *http.Request, status int) *routers.Route {
	t.Helper()
	ref := unroutedResponse(t, d, status)
	if ref == nil {
		t.Errorf("%s %s -> %d, which the OpenAPI document does not describe for requests that match no operation", r.Method, r.URL.Path, status)
		return nil
	}
	op := openapi3.NewOperation()
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(status, ref))
	return &routers.Route{Spec: d, Path: r.URL.Path, PathItem: &openapi3.PathItem{}, Method: r.Method, Operation: op}
}

// checkRequestAgainstOpenAPI validates a request that a test marks as
// conforming (request.Conforms) against the document: its operation,
// parameters, body and, for operations that need a token, the presence of
// one. hr is the request as sent; its body is read again through GetBody.
// It never skips: a request the document has no operation for is an error.
func checkRequestAgainstOpenAPI(t testing.TB, hr *http.Request) {
	t.Helper()
	_, router := openAPIDoc(t)
	r := hr.Clone(context.Background())
	r.Body = http.NoBody
	if hr.GetBody != nil {
		body, err := hr.GetBody()
		if err != nil {
			t.Errorf("%s %s: read the request body again: %v", hr.Method, hr.URL.Path, err)
			return
		}
		r.Body = body
	} else if hr.ContentLength > 0 {
		t.Errorf("%s %s: the request body cannot be read again to check it", hr.Method, hr.URL.Path)
		return
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		t.Errorf("%s %s is marked as conforming, but the OpenAPI document has no such operation: %v", hr.Method, hr.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerTokenPresent}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Errorf("%s %s is marked as conforming, but does not match the OpenAPI document: %v", hr.Method, hr.URL.Path, err)
	}
}

// bearerTokenPresent checks the document's bearer scheme the way a client
// generator reads it: the request carries an Authorization header. Whether
// the token is good is the server's business, not the document's.
// The introspection client's Basic scheme is read the same way.
func bearerTokenPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme.Type != "http" || (in.SecurityScheme.Scheme != "bearer" && in.SecurityScheme.Scheme != "basic") {
		return fmt.Errorf("unexpected security scheme %s", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if h == "" {
		return errors.New("no Authorization header")
	}
	if in.SecurityScheme.Scheme == "basic" && !strings.HasPrefix(h, "Basic ") {
		return errors.New("no Basic credentials")
	}
	return nil
}

func TestOpenAPIDocumentIsServedAndValid(t *testing.T) {
	openAPIDoc(t)
	e := newEnv(t, sqliteEngine())
	json1 := e.do(request{Method: "GET", Path: "/api/v1/openapi.json"})
	json2 := e.do(request{Method: "GET", Path: "/api/v1/swagger.json"})
	if json1.Status != http.StatusOK || !bytes.Equal(json1.Body, json2.Body) || !bytes.Equal(json1.Body, httpapi.OpenAPI()) ||
		json1.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json %d, swagger.json %d, same=%v", json1.Status, json2.Status, bytes.Equal(json1.Body, json2.Body))
	}
	var v map[string]any
	if err := json.Unmarshal(json1.Body, &v); err != nil || v["openapi"] != "3.0.3" {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	sec := v["components"].(map[string]any)["securitySchemes"].(map[string]any)["bearerAuth"].(map[string]any)
	if sec["type"] != "http" || sec["scheme"] != "bearer" {
		t.Fatalf("bearer scheme: %v", sec)
	}
}

// Every route the server registers is in the document, and every operation
// in the document is served.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	d, _ := openAPIDoc(t)
	e := newEnv(t, sqliteEngine(), withIntrospectionClient)
	var documented []string
	for path, item := range d.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, route := range e.api.Routes() {
		if !slices.Contains(documented, route) {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
	}

	admin := e.admin("doc-admin@example.com")
	if res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
		"name": {"doc-widget"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}}); res.Status != http.StatusCreated {
		t.Fatalf("seed widget: %d", res.Status)
	}
	// A second session of the administrator's, for DELETE /auth/sessions/{id}.
	second := loginAs(e, "doc-admin@example.com", "admin-password", "", "second")
	secondID := testtoken.Payload(t, second)["jti"].(string)
	// A user for /users/{public_id}, whom DELETE removes last.
	userID := testtoken.Payload(t, e.register("doc-user@example.com", "user-password"))["sub"].(string)
	// The deletions and the logout go last, so that the widget and the token
	// still exist for the other calls.
	last := func(op string) bool { return strings.HasPrefix(op, "DELETE ") || strings.HasSuffix(op, "/logout") }
	slices.SortFunc(documented, func(a, b string) int {
		if last(a) != last(b) {
			if last(a) {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		paths := []string{strings.NewReplacer("{name}", "doc-widget", "{id}", secondID, "{public_id}", userID).Replace(path)}
		if strings.Contains(path, "{file}") {
			// Every file the document lists is served.
			paths = nil
			for _, f := range d.Paths.Value(path).Get.Parameters.GetByInAndName("path", "file").Schema.Value.Enum {
				paths = append(paths, strings.ReplaceAll(path, "{file}", f.(string)))
			}
		}
		for _, p := range paths {
			// e.do checks each response against the document as well.
			req := request{Method: method, Path: p, Token: admin}
			if op == "POST /api/v1/auth/introspect" {
				req = introspectRequest(admin)
			}
			res := e.do(req)
			if res.Status == http.StatusMethodNotAllowed || res.Status == http.StatusNotFound || res.Status == http.StatusUnauthorized {
				t.Errorf("documented %s is not served: %s -> %d %s", op, p, res.Status, res.Body)
			}
		}
	}
	if len(documented) < 16 {
		t.Fatalf("only %d operations documented", len(documented))
	}
}

func TestSwaggerUIIsServedFromTheBinary(t *testing.T) {
	e := newEnv(t, sqliteEngine())
	page := e.do(request{Method: "GET", Path: "/api/v1/ui"})
	if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page.Body), "/api/v1/ui/swagger-ui-bundle.js") {
		t.Fatalf("ui page: %d %v", page.Status, page.Header)
	}
	csp := page.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") || page.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("ui headers: %v", page.Header)
	}
	if strings.Contains(string(page.Body), "<script>") || strings.Contains(string(page.Body), "http") {
		t.Fatal("the page has an inline script or an external address")
	}
	for _, asset := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "init.js", "favicon-32x32.png"} {
		res := e.do(request{Method: "GET", Path: "/api/v1/ui/" + asset})
		if res.Status != http.StatusOK || len(res.Body) == 0 || res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d (%d bytes)", asset, res.Status, len(res.Body))
		}
	}
	if res := e.do(request{Method: "GET", Path: "/api/v1/ui/nothing.js"}); res.Status != http.StatusNotFound {
		t.Fatalf("missing asset: %d", res.Status)
	}
}

// recordingTB notes failures instead of failing, to test the checker itself.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// The response check must catch a response that breaks the document, so a
// silently skipped check cannot pass for a passing one.
func TestOpenAPICheckCatchesAWrongResponse(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://127.0.0.1/api/v1/auth/user", nil)
	good := response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"0123456789abcdef0123456789abcdef"}},
		Body: []byte(`{"email":"a@b.io","public_id":"8b6f1a52-3c57-4bd0-9a4c-1f2e3d4c5b6a","admin":false,"email_verified":false,"mfa":false,"registered_on":"11/28/26 03:13:02 PM UTC","token_expires_in":"00:00:01"}`)}
	rec := &recordingTB{TB: t}
	checkAgainstOpenAPI(rec, req, good)
	if len(rec.errors) != 0 {
		t.Fatalf("a valid response was refused: %v", rec.errors)
	}
	for _, bad := range []response{
		{Status: 200, Header: good.Header, Body: []byte(`{"email":"a@b.io"}`)},                                            // fields missing
		{Status: 418, Header: good.Header, Body: []byte(`{"message":"teapot"}`)},                                          // undocumented status
		{Status: 200, Header: good.Header, Body: []byte(`{"email":1,"public_id":"x"}`)},                                   // wrong types
		{Status: 200, Header: good.Header, Body: append(good.Body[:len(good.Body)-1:len(good.Body)-1], `,"extra":1}`...)}, // undocumented field
		{Status: 401, Header: good.Header, Body: []byte(`{"message":"Unauthorized"}`)},                                    // no WWW-Authenticate
		{Status: 429, Header: good.Header, Body: []byte(`{"message":"slow down"}`)},                                       // no Retry-After
		{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: good.Body},                         // no X-Request-ID
	} {
		rec := &recordingTB{TB: t}
		checkAgainstOpenAPI(rec, req, bad)
		if len(rec.errors) == 0 {
			t.Errorf("a response breaking the document passed: %d %s", bad.Status, bad.Body)
		}
	}
}

// The request check must refuse requests that break the document, so that a
// request marked as conforming cannot pass unchecked.
func TestOpenAPIRequestCheckCatchesAWrongRequest(t *testing.T) {
	newReq := func(method, path, contentType, body string, header ...string) *http.Request {
		var r *http.Request
		if body == "" {
			r, _ = http.NewRequest(method, "http://127.0.0.1"+path, nil)
		} else {
			r, _ = http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	const (
		js   = "application/json"
		form = "application/x-www-form-urlencoded"
	)
	for _, good := range []*http.Request{
		newReq("POST", "/api/v1/auth/login", js, `{"email": "a@b.io", "password": "1234567"}`),
		newReq("POST", "/api/v1/auth/login", form, "email=a%40b.io&password=x"),
		newReq("POST", "/api/v1/auth/register", form, "email=a%40b.io&password=12345678"),
		newReq("GET", "/api/v1/auth/user", "", "", "Authorization", "Bearer a.b.c"),
		newReq("GET", "/api/v1/widgets?page=2&per_page=5", "", "", "Authorization", "Bearer a.b.c"),
	} {
		rec := &recordingTB{TB: t}
		checkRequestAgainstOpenAPI(rec, good)
		if len(rec.errors) != 0 {
			t.Errorf("a conforming %s %s was refused: %v", good.Method, good.URL, rec.errors)
		}
	}
	for _, bad := range []struct {
		why string
		req *http.Request
	}{
		{"register password of 7 characters", newReq("POST", "/api/v1/auth/register", js, `{"email": "a@b.io", "password": "1234567"}`)},
		{"register password of 7 characters, form", newReq("POST", "/api/v1/auth/register", form, "email=a%40b.io&password=1234567")},
		{"register password of 73 characters", newReq("POST", "/api/v1/auth/register", js, `{"email": "a@b.io", "password": "`+strings.Repeat("p", 73)+`"}`)},
		{"login with an empty password", newReq("POST", "/api/v1/auth/login", js, `{"email": "a@b.io", "password": ""}`)},
		{"login without an email", newReq("POST", "/api/v1/auth/login", js, `{"password": "password1"}`)},
		{"login with a non-ASCII email", newReq("POST", "/api/v1/auth/login", js, `{"email": "\u0430@b.io", "password": "password1"}`)},
		{"login without a body", newReq("POST", "/api/v1/auth/login", "", "")},
		{"login in text/plain", newReq("POST", "/api/v1/auth/login", "text/plain", "email=a@b.io")},
		{"no token for a secured operation", newReq("GET", "/api/v1/auth/user", "", "")},
		{"page 0", newReq("GET", "/api/v1/widgets?page=0", "", "", "Authorization", "Bearer a.b.c")},
		{"an unknown route", newReq("GET", "/api/v1/nope", "", "")},
		{"a wrong method", newReq("DELETE", "/api/v1/auth/login", "", "")},
	} {
		rec := &recordingTB{TB: t}
		checkRequestAgainstOpenAPI(rec, bad.req)
		if len(rec.errors) == 0 {
			t.Errorf("a request breaking the document passed: %s", bad.why)
		}
	}
}

// rawDoc is the served document as plain JSON, for checks of its shape that
// do not depend on how a library resolves it.
func rawDoc(t testing.TB) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// rawOperation is one operation of the raw document.
type rawOperation struct {
	method, path string
	item, op     map[string]any
}

func (o rawOperation) String() string { return o.method + " " + o.path }

// rawOperations lists the operations of the raw document, in a stable order.
func rawOperations(t testing.TB, d map[string]any) []rawOperation {
	t.Helper()
	var ops []rawOperation
	paths := d["paths"].(map[string]any)
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := paths[path].(map[string]any)
		for _, m := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
			if op, ok := item[m].(map[string]any); ok {
				ops = append(ops, rawOperation{method: strings.ToUpper(m), path: path, item: item, op: op})
			}
		}
	}
	if len(ops) < 16 {
		t.Fatalf("only %d operations in the document", len(ops))
	}
	return ops
}

// Client generators read an operation without `security` as inheriting the
// document's default; every operation says what it needs. The server decides
// which are public: those it answers without a token.
func TestOpenAPISecurityOfEveryOperation(t *testing.T) {
	d := rawDoc(t)
	e := newEnv(t, sqliteEngine(), withIntrospectionClient)
	admin := e.admin("doc-admin@example.com")
	if res := e.do(request{Method: "POST", Path: "/api/v1/widgets", Token: admin, Form: url.Values{
		"name": {"doc-widget"}, "info_url": {"https://example.com"}, "deadline": {"2099-12-31"}}}); res.Status != http.StatusCreated {
		t.Fatalf("seed widget: %d", res.Status)
	}
	wantPublic := []string{
		"GET /.well-known/jwks.json", "GET /account/assets/{file}", "GET /account/confirm-email", "GET /account/reset-password",
		"GET /account/verify-email", "GET /api/v1/openapi.json", "GET /api/v1/swagger.json", "GET /api/v1/ui", "GET /api/v1/ui/{file}",
		"GET /healthz", "GET /metrics", "GET /readyz", "POST /api/v1/auth/email/confirm", "POST /api/v1/auth/email/verify",
		"POST /api/v1/auth/login", "POST /api/v1/auth/login/mfa", "POST /api/v1/auth/password/forgot", "POST /api/v1/auth/password/reset", "POST /api/v1/auth/register",
	}
	var public []string
	for _, o := range rawOperations(t, d) {
		path := strings.NewReplacer("{name}", "doc-widget", "{file}", "init.js").Replace(o.path)
		res := e.do(request{Method: o.method, Path: path})
		sec, declared := o.op["security"]
		reqs, _ := sec.([]any)
		switch {
		case res.Status == http.StatusUnauthorized && strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic "):
			if want := []any{map[string]any{"introspectionClient": []any{}}}; !reflect.DeepEqual(sec, want) {
				t.Errorf("%s needs client credentials (401 Basic without them) but declares security %v, want %v", o, sec, want)
			}
		case res.Status == http.StatusUnauthorized:
			if want := []any{map[string]any{"bearerAuth": []any{}}}; !reflect.DeepEqual(sec, want) {
				t.Errorf("%s needs a token (401 without one) but declares security %v, want %v", o, sec, want)
			}
		case !declared || reqs == nil || len(reqs) != 0:
			t.Errorf("%s is answered without a token (%d) but does not declare `security: []` (has %v)", o, res.Status, sec)
			public = append(public, o.String())
		default:
			public = append(public, o.String())
		}
	}
	if slices.Sort(public); !slices.Equal(public, wantPublic) {
		t.Errorf("public operations %v, want %v", public, wantPublic)
	}
}

// rawResponses lists every response object of the raw document: those of
// each operation (where inline) and those under components/responses, each
// named by where it is.
func rawResponses(t testing.TB, d map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range rawOperations(t, d) {
		for status, r := range o.op["responses"].(map[string]any) {
			r := r.(map[string]any)
			if _, ok := r["$ref"]; ok {
				continue // checked once, under components
			}
			out[o.String()+" "+status] = r
		}
	}
	for name, r := range d["components"].(map[string]any)["responses"].(map[string]any) {
		out["#/components/responses/"+name] = r.(map[string]any)
	}
	for status, r := range d["x-unrouted-responses"].(map[string]any) {
		out["#/x-unrouted-responses/"+status] = r.(map[string]any)
	}
	return out
}

// Every response carries an X-Request-ID, declared once and referred to
// everywhere, so that generated clients can read it. A client may send one
// on any request, which the document says once, in its description: as a
// parameter of every operation it would make every generated method take a
// parameters struct.
func TestOpenAPIRequestIDIsDeclaredOnEveryResponse(t *testing.T) {
	d := rawDoc(t)
	comps := d["components"].(map[string]any)
	if params, _ := comps["parameters"].(map[string]any); params["RequestID"] != nil {
		t.Errorf("components/parameters/RequestID is declared")
	}
	if desc := d["info"].(map[string]any)["description"].(string); !strings.Contains(desc, "send an `X-Request-ID` header on any request") {
		t.Errorf("the description does not say that a client may send X-Request-ID")
	}
	headers := comps["headers"].(map[string]any)
	if h, _ := headers["RequestID"].(map[string]any); h["required"] != true {
		t.Errorf("components/headers/RequestID = %v, want a required header", h)
	}
	for _, o := range rawOperations(t, d) {
		all, _ := o.item["parameters"].([]any)
		own, _ := o.op["parameters"].([]any)
		for _, p := range append(slices.Clone(all), own...) {
			if p, _ := p.(map[string]any); strings.EqualFold(fmt.Sprint(p["name"]), "X-Request-ID") || p["$ref"] != nil && strings.Contains(fmt.Sprint(p["$ref"]), "RequestID") {
				t.Errorf("%s takes X-Request-ID as a parameter", o)
			}
		}
	}
	headerRef := map[string]any{"$ref": "#/components/headers/RequestID"}
	for where, r := range rawResponses(t, d) {
		h, _ := r["headers"].(map[string]any)
		if !reflect.DeepEqual(h["X-Request-ID"], headerRef) {
			t.Errorf("response %s does not declare the X-Request-ID header (has %v)", where, h["X-Request-ID"])
		}
	}
}

// The audit log's action filter and the event's action are one enum, the
// actions the service records, and the server refuses any other filter.
func TestOpenAPIAuditActionsAreTheServices(t *testing.T) {
	d, _ := openAPIDoc(t)
	enum := func(s *openapi3.Schema) []string {
		var out []string
		for _, v := range s.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	want := widgetapi.AuditActions()
	if got := enum(d.Components.Schemas["AuditAction"].Value); !slices.Equal(got, want) {
		t.Errorf("AuditAction enum %v, want %v", got, want)
	}
	if got := enum(d.Components.Schemas["AuditEvent"].Value.Properties["action"].Value); !slices.Equal(got, want) {
		t.Errorf("AuditEvent.action enum %v, want %v", got, want)
	}
	param := d.Paths.Value("/api/v1/audit").Get.Parameters.GetByInAndName("query", "action")
	if param.Schema.Ref != "#/components/schemas/AuditAction" {
		t.Errorf("the action parameter's schema is %q, want the AuditAction enum", param.Schema.Ref)
	}
}

// Boolean filters are booleans, and the server takes them as a generated
// client sends them: true and false.
func TestOpenAPIBooleanFilters(t *testing.T) {
	d, _ := openAPIDoc(t)
	for path, names := range map[string][]string{"/api/v1/widgets": {"passed"}, "/api/v1/users": {"admin", "disabled"}} {
		for _, name := range names {
			p := d.Paths.Value(path).Get.Parameters.GetByInAndName("query", name)
			if p == nil || !p.Schema.Value.Type.Is("boolean") {
				t.Errorf("%s?%s is not a boolean", path, name)
			}
		}
	}
	e := newEnv(t, sqliteEngine())
	admin := e.admin("doc-admin@example.com")
	for _, q := range []string{"/api/v1/widgets?passed=true", "/api/v1/widgets?passed=false",
		"/api/v1/users?admin=true&disabled=false", "/api/v1/users?admin=false&disabled=true"} {
		// Conforms: the request is checked against the document too.
		if res := e.do(request{Method: "GET", Path: q, Token: admin, Conforms: true}); res.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s", q, res.Status, res.Body)
		}
	}
	for _, q := range []string{"/api/v1/widgets?passed=yes", "/api/v1/users?admin=1"} {
		if res := e.do(request{Method: "GET", Path: q, Token: admin}); res.Status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s", q, res.Status, res.Body)
		}
	}
}

// A client generator turns an inline object schema of a response, or an
// inline allOf, into an unnamed type (InlineResponse200, …); every response
// body that is an object refers to a named schema instead.
func TestOpenAPIResponseSchemasAreNamed(t *testing.T) {
	d := rawDoc(t)
	for where, r := range rawResponses(t, d) {
		if strings.HasPrefix(where, "#/x-unrouted-responses/") {
			// No generator reads the extension; its schema stays inline, since
			// a component that nothing refers to is an unused one.
			continue
		}
		content, _ := r["content"].(map[string]any)
		for mediaType, m := range content {
			schema, ok := m.(map[string]any)["schema"].(map[string]any)
			if !ok {
				continue // no schema: a page, a script, an image
			}
			if _, ok := schema["$ref"]; ok {
				if len(schema) != 1 {
					t.Errorf("response %s (%s): a $ref with siblings %v", where, mediaType, schema)
				}
				continue
			}
			for _, k := range []string{"allOf", "oneOf", "anyOf", "not", "properties", "additionalProperties", "items"} {
				if _, ok := schema[k]; ok {
					t.Errorf("response %s (%s): inline schema with %s; refer to a named one under components/schemas", where, mediaType, k)
				}
			}
			if typ := schema["type"]; typ == "object" || typ == "array" || typ == nil {
				t.Errorf("response %s (%s): inline schema of type %v; refer to a named one under components/schemas", where, mediaType, typ)
			}
		}
	}
}

// The server's 404 for an unknown route and 405 for a wrong method match the
// document's NotFound and MethodNotAllowed responses, body and headers; and
// the check refuses other bodies, so it does not pass by skipping them.
func TestOpenAPIDocumentsUnknownRoutesAndMethods(t *testing.T) {
	const (
		notFound   = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
		notAllowed = "The method is not allowed for the requested URL."
	)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nope", http.StatusNotFound, ""},
		{"POST", "/api/v1/nope", http.StatusNotFound, ""},
		{"GET", "/api/v1/auth/loginx", http.StatusNotFound, ""},
		{"GET", "/api/v1/widgets/a/b", http.StatusNotFound, ""},
		{"DELETE", "/api/v1/ui/init.js/x", http.StatusNotFound, ""},
		{"GET", "/api/v2/widgets", http.StatusNotFound, ""},
		{"GET", "/api/v1/auth/login", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", "/api/v1/auth/register", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/api/v1/auth/user", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"PATCH", "/api/v1/widgets", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"POST", "/api/v1/widgets/some-widget", http.StatusMethodNotAllowed, "GET, HEAD, PUT, PATCH, DELETE"},
		{"PUT", "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	e := newEnv(t, sqliteEngine())
	for _, tt := range tests {
		where := tt.method + " " + tt.path
		// e.do checks the response against the document, as below.
		res := e.do(request{Method: tt.method, Path: tt.path})
		want := map[string]any{"message": notFound}
		if tt.status == http.StatusMethodNotAllowed {
			want = map[string]any{"message": notAllowed}
		}
		if res.Status != tt.status || !reflect.DeepEqual(res.JSON(t), want) || res.Header.Get("Allow") != tt.allow {
			t.Errorf("%s: %d %s Allow %q, want %d %v Allow %q", where, res.Status, res.Body, res.Header.Get("Allow"), tt.status, want, tt.allow)
		}
		req, _ := http.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
		rec := &recordingTB{TB: t}
		checkAgainstOpenAPI(rec, req, res)
		if len(rec.errors) != 0 {
			t.Errorf("%s: the answer does not match the document: %v", where, rec.errors)
		}
		// The same answer, broken, is refused.
		var broken []response
		for _, body := range []string{`{"message": "not here"}`, `{"message": "` + notFound + `", "extra": 1}`, `{}`} {
			broken = append(broken, response{Status: res.Status, Header: res.Header, Body: []byte(body)})
		}
		if tt.status == http.StatusMethodNotAllowed {
			h := res.Header.Clone()
			h.Del("Allow")
			broken = append(broken, response{Status: res.Status, Header: h, Body: res.Body})
		}
		h := res.Header.Clone()
		h.Del("X-Request-ID")
		broken = append(broken, response{Status: res.Status, Header: h, Body: res.Body})
		for _, b := range broken {
			rec := &recordingTB{TB: t}
			checkAgainstOpenAPI(rec, req, b)
			if len(rec.errors) == 0 {
				t.Errorf("%s: a broken answer passed: %v %s", where, b.Header, b.Body)
			}
		}
	}
	// The UI's 404 for a file it does not serve is the same answer.
	if res := e.do(request{Method: "GET", Path: "/api/v1/ui/nothing.js"}); res.Status != http.StatusNotFound ||
		!reflect.DeepEqual(res.JSON(t), map[string]any{"message": notFound}) {
		t.Errorf("GET /api/v1/ui/nothing.js: %d %s", res.Status, res.Body)
	}
	// Every operation with a path parameter, asked for something that does
	// not exist: e.do refuses an answer the operation does not document,
	// so each 404 it gives is documented (PUT creates the widget instead).
	admin := e.admin("doc-admin@example.com")
	for _, o := range rawOperations(t, rawDoc(t)) {
		if !strings.Contains(o.path, "{") {
			continue
		}
		path := strings.NewReplacer("{name}", "no-such-widget-"+strings.ToLower(o.method), "{file}", "no-such-file.js").Replace(o.path)
		res := e.do(request{Method: o.method, Path: path, Token: admin,
			Form: url.Values{"info_url": {"https://example.com"}, "deadline": {"2099-12-31"}, "admin": {"true"}}})
		if res.Status != http.StatusNotFound && !(o.method == "PUT" && res.Status == http.StatusCreated) {
			t.Errorf("%s for something that does not exist: %d %s", o, res.Status, res.Body)
		}
	}
}
