package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testtoken"
)

var (
	testKeyA = []byte("token-test-key-A-0123456789abcdef0123")
	testKeyB = []byte("token-test-key-B-0123456789abcdef0123")
	// testStart has a fraction of a second, which issued times drop.
	testStart = time.Date(2026, 11, 28, 15, 13, 2, 700_000_000, time.UTC)
)

// newTestTokens returns Tokens over clk signing with testKeyA, with a one-hour
// lifetime, issuer and audience "widgetapi" and no leeway, adjusted by opts.
func newTestTokens(t testing.TB, clk *testclock.Clock, opts ...func(*TokenConfig)) *Tokens {
	t.Helper()
	cfg := TokenConfig{
		Keys: [][]byte{testKeyA}, Issuer: "widgetapi", Audience: "widgetapi",
		TTL: time.Hour, Now: clk.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	tk, err := NewTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// testOrigin is where the sessions of these tests are opened from.
var testOrigin = widgetapi.Origin{Address: "192.0.2.1", UserAgent: "test"}

// errOf returns the error of a Verify call.
func errOf(_ *widgetapi.TokenClaims, err error) error { return err }

func testUser(admin bool) *widgetapi.User {
	return &widgetapi.User{ID: 7, Email: "someone@example.com", PublicID: uuid.NewString(), Admin: admin}
}

func mustIssue(t testing.TB, tk *Tokens, u *widgetapi.User) widgetapi.AccessToken {
	t.Helper()
	tok, err := tk.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wantUnauthorized asserts that err is an EUNAUTHORIZED error with msg.
func wantUnauthorized(t testing.TB, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("verified, want %q", msg)
	}
	if code := widgetapi.ErrorCode(err); code != widgetapi.EUNAUTHORIZED {
		t.Errorf("code = %q, want %q (%v)", code, widgetapi.EUNAUTHORIZED, err)
	}
	if got := widgetapi.ErrorMessage(err); got != msg {
		t.Errorf("message = %q, want %q (%v)", got, msg, err)
	}
}

func TestTokensRoundTrip(t *testing.T) {
	for _, admin := range []bool{false, true} {
		clk := testclock.New(testStart)
		tk := newTestTokens(t, clk)
		u := testUser(admin)
		tok := mustIssue(t, tk, u)

		wantIat := testStart.Truncate(time.Second)
		if tok.TTL != time.Hour || !tok.ExpiresAt.Equal(wantIat.Add(time.Hour)) {
			t.Errorf("AccessToken TTL=%v ExpiresAt=%v, want 1h and %v", tok.TTL, tok.ExpiresAt, wantIat.Add(time.Hour))
		}
		if tk.TTL() != time.Hour {
			t.Errorf("TTL() = %v", tk.TTL())
		}
		claims, err := tk.Verify(tok.Raw)
		if err != nil {
			t.Fatalf("admin=%v: %v", admin, err)
		}
		if claims.Subject != u.PublicID {
			t.Errorf("sub = %q, want %q", claims.Subject, u.PublicID)
		}
		if claims.Admin != admin {
			t.Errorf("admin = %v, want %v", claims.Admin, admin)
		}
		if !claims.IssuedAt.Equal(wantIat) {
			t.Errorf("iat = %v, want %v", claims.IssuedAt, wantIat)
		}
		if !claims.ExpiresAt.Equal(claims.IssuedAt.Add(time.Hour)) {
			t.Errorf("exp = %v, want iat+1h = %v", claims.ExpiresAt, claims.IssuedAt.Add(time.Hour))
		}
		if id, err := uuid.Parse(claims.ID); err != nil || id.String() != claims.ID {
			t.Errorf("jti %q is not a canonical UUID", claims.ID)
		}

		// The wire form: HS256, and exactly the claims of the contract plus iss/aud.
		hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.Raw, ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		if err := json.Unmarshal(hdr, &h); err != nil {
			t.Fatal(err)
		}
		if h["alg"] != "HS256" {
			t.Errorf("alg = %v, want HS256", h["alg"])
		}
		p := testtoken.Payload(t, tok.Raw)
		for _, k := range []string{"sub", "admin", "iat", "exp", "jti", "iss", "aud"} {
			if _, ok := p[k]; !ok {
				t.Errorf("payload lacks %q: %v", k, p)
			}
		}
		if p["admin"] != admin || p["sub"] != u.PublicID || p["jti"] != claims.ID {
			t.Errorf("payload = %v", p)
		}
		if p["iat"] != float64(wantIat.Unix()) || p["exp"] != float64(wantIat.Unix()+3600) {
			t.Errorf("payload iat/exp = %v/%v, want %d/%d", p["iat"], p["exp"], wantIat.Unix(), wantIat.Unix()+3600)
		}
	}
}

func TestTokensJTIUnique(t *testing.T) {
	clk := testclock.New(testStart)
	tk := newTestTokens(t, clk)
	u := testUser(false)
	seen := map[string]bool{}
	raws := map[string]bool{}
	for range 50 {
		tok := mustIssue(t, tk, u) // same user, same second
		c, err := tk.Verify(tok.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("jti %s issued twice", c.ID)
		}
		if raws[tok.Raw] {
			t.Fatalf("the same token was issued twice")
		}
		seen[c.ID], raws[tok.Raw] = true, true
	}
}

func TestTokensExpiry(t *testing.T) {
	t.Run("no leeway", func(t *testing.T) {
		clk := testclock.New(testStart)
		tk := newTestTokens(t, clk)
		tok := mustIssue(t, tk, testUser(false))
		// exp is iat (15:13:02) + 1h; the clock starts 0.7s after iat.
		clk.Advance(time.Hour - time.Second)
		if _, err := tk.Verify(tok.Raw); err != nil {
			t.Fatalf("0.3s before exp: %v", err)
		}
		clk.Advance(300 * time.Millisecond)
		_, err := tk.Verify(tok.Raw)
		wantUnauthorized(t, err, MsgExpired)
		if !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("cause %v is not jwt.ErrTokenExpired", err)
		}
		clk.Advance(1000 * 24 * time.Hour)
		_, err = tk.Verify(tok.Raw)
		wantUnauthorized(t, err, MsgExpired)
	})
	// The leeway tolerates skew for iat only: the reference API's own test
	// asks a 5-second token for the user 6 seconds after login and expects
	// "expired", and a token is refused from the moment exp passes.
	t.Run("leeway does not extend exp", func(t *testing.T) {
		clk := testclock.New(testStart)
		tk := newTestTokens(t, clk, func(c *TokenConfig) { c.Leeway = 5 * time.Second; c.TTL = 5 * time.Second })
		tok := mustIssue(t, tk, testUser(false))
		clk.Advance(tok.ExpiresAt.Add(-time.Millisecond).Sub(clk.Now()))
		if _, err := tk.Verify(tok.Raw); err != nil {
			t.Fatalf("1ms before exp: %v", err)
		}
		clk.Advance(time.Millisecond)
		wantUnauthorized(t, errOf(tk.Verify(tok.Raw)), MsgExpired)
		clk.Advance(time.Second)
		wantUnauthorized(t, errOf(tk.Verify(tok.Raw)), MsgExpired)
	})
	t.Run("leeway does not extend exp of a remembered token", func(t *testing.T) {
		clk := testclock.New(testStart)
		tk := newTestTokens(t, clk, func(c *TokenConfig) { c.Leeway = 5 * time.Second; c.TTL = 5 * time.Second })
		tok := mustIssue(t, tk, testUser(false))
		if _, err := tk.Verify(tok.Raw); err != nil { // now in the verified cache
			t.Fatal(err)
		}
		clk.Advance(6 * time.Second)
		wantUnauthorized(t, errOf(tk.Verify(tok.Raw)), MsgExpired)
	})
	// exp at or before iat: refused, and truly expired already.
	t.Run("exp not after iat", func(t *testing.T) {
		clk := testclock.New(testStart.Truncate(time.Second))
		tk := newTestTokens(t, clk)
		for _, d := range []int64{0, -1} {
			c := testtoken.Claims(clk.Now(), uuid.NewString())
			c["exp"] = c["iat"].(int64) + d
			wantUnauthorized(t, errOf(tk.Verify(testtoken.Sign(t, jwt.SigningMethodHS256, testKeyA, c))), MsgExpired)
		}
	})
	t.Run("expired and tampered is invalid", func(t *testing.T) {
		clk := testclock.New(testStart)
		tk := newTestTokens(t, clk)
		tok := mustIssue(t, tk, testUser(false))
		clk.Advance(2 * time.Hour)
		_, err := tk.Verify(testtoken.Tamper(t, tok.Raw, func(m map[string]any) { m["admin"] = true }))
		wantUnauthorized(t, err, MsgInvalid)
	})
}

func TestTokensReject(t *testing.T) {
	clk := testclock.New(testStart)
	tk := newTestTokens(t, clk)
	u := testUser(false)
	good := mustIssue(t, tk, u).Raw
	with := func(mutate func(jwt.MapClaims)) string {
		c := testtoken.Claims(clk.Now(), u.PublicID)
		mutate(c)
		return testtoken.Sign(t, jwt.SigningMethodHS256, testKeyA, c)
	}
	without := func(k string) string { return with(func(c jwt.MapClaims) { delete(c, k) }) }
	now := clk.Now().Truncate(time.Second).Unix()

	// The hand-made control token verifies, so each row below fails for its own reason.
	if _, err := tk.Verify(with(func(jwt.MapClaims) {})); err != nil {
		t.Fatalf("control token: %v", err)
	}
	parts := strings.Split(good, ".")
	tests := []struct{ name, raw string }{
		{"empty", ""},
		{"abc", "abc"},
		{"a.b.c", "a.b.c"},
		{"two segments", parts[0] + "." + parts[1]},
		{"four segments", good + ".x"},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"whitespace", " " + good},
		{"admin flipped", testtoken.Tamper(t, good, func(m map[string]any) { m["admin"] = true })},
		{"sub swapped", testtoken.Tamper(t, good, func(m map[string]any) { m["sub"] = uuid.NewString() })},
		{"exp extended", testtoken.Tamper(t, good, func(m map[string]any) { m["exp"] = now + 86400 })},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(mustIssue(t, tk, u).Raw, ".")[2]},
		{"alg none", testtoken.Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testtoken.Claims(clk.Now(), u.PublicID))},
		{"alg none, header rewritten on a real token", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"another key", testtoken.Sign(t, jwt.SigningMethodHS256, testKeyB, testtoken.Claims(clk.Now(), u.PublicID))},
		{"HS384 with the right key", testtoken.Sign(t, jwt.SigningMethodHS384, testKeyA, testtoken.Claims(clk.Now(), u.PublicID))},
		{"HS512 with the right key", testtoken.Sign(t, jwt.SigningMethodHS512, testKeyA, testtoken.Claims(clk.Now(), u.PublicID))},
		{"missing sub", without("sub")},
		{"missing jti", without("jti")},
		{"missing iat", without("iat")},
		{"missing exp", without("exp")},
		{"missing iss", without("iss")},
		{"missing aud", without("aud")},
		{"wrong iss", with(func(c jwt.MapClaims) { c["iss"] = "evil" })},
		{"wrong aud", with(func(c jwt.MapClaims) { c["aud"] = []string{"evil"} })},
		{"sub not a UUID", with(func(c jwt.MapClaims) { c["sub"] = "1" })},
		{"sub an upper-case UUID", with(func(c jwt.MapClaims) { c["sub"] = strings.ToUpper(u.PublicID) })},
		{"sub a number", with(func(c jwt.MapClaims) { c["sub"] = 1 })},
		{"jti not a UUID", with(func(c jwt.MapClaims) { c["jti"] = "x" })},
		{"exp a string", with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })},
		{"iat a string", with(func(c jwt.MapClaims) { c["iat"] = "today" })},
		// jwt's NumericDate takes a number in a string; a token of ours never has one.
		{"exp a numeric string", with(func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(now+60, 10) })},
		{"iat a numeric string", with(func(c jwt.MapClaims) { c["iat"] = strconv.FormatInt(now, 10) })},
		{"nbf a numeric string", with(func(c jwt.MapClaims) { c["nbf"] = strconv.FormatInt(now, 10) })},
		{"exp an object", with(func(c jwt.MapClaims) { c["exp"] = map[string]any{"n": now + 60} })},
		{"exp true", with(func(c jwt.MapClaims) { c["exp"] = true })},
		{"exp null", with(func(c jwt.MapClaims) { c["exp"] = nil })},
		// Lifetimes this service never issues: the TTL is one hour.
		{"exp beyond iat + TTL", with(func(c jwt.MapClaims) { c["exp"] = now + 3601 })},
		{"exp 1e13", with(func(c jwt.MapClaims) { c["exp"] = 1e13 })},
		{"exp 1e300", with(func(c jwt.MapClaims) { c["exp"] = 1e300 })},
		{"exp negative", with(func(c jwt.MapClaims) { c["iat"], c["exp"] = -3600, -1 })},
		{"iat far in the past, exp in the future", with(func(c jwt.MapClaims) { c["iat"] = 0 })},
		{"admin a string", with(func(c jwt.MapClaims) { c["admin"] = "true" })},
		{"iat in the future", with(func(c jwt.MapClaims) { c["iat"] = now + 60 })},
		{"nbf in the future", with(func(c jwt.MapClaims) { c["nbf"] = now + 60 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := tk.Verify(tt.raw)
			if claims != nil {
				t.Errorf("claims returned with an error: %+v", claims)
			}
			wantUnauthorized(t, err, MsgInvalid)
		})
	}
}

// TestTokensIssuedAt: an iat later than now by more than the leeway is
// refused; within the leeway it is accepted. This is the one place the
// leeway applies.
func TestTokensIssuedAt(t *testing.T) {
	for _, tt := range []struct {
		leeway, ahead time.Duration
		ok            bool
	}{
		{0, 0, true},
		{0, time.Second, false},
		{10 * time.Second, 10 * time.Second, true},
		{10 * time.Second, 11 * time.Second, false},
		{10 * time.Second, -time.Hour + time.Second, true}, // issued in the past, not yet expired
	} {
		clk := testclock.New(testStart.Truncate(time.Second))
		tk := newTestTokens(t, clk, func(c *TokenConfig) { c.Leeway = tt.leeway })
		c := testtoken.Claims(clk.Now(), uuid.NewString())
		iat := clk.Now().Add(tt.ahead)
		c["iat"], c["exp"] = iat.Unix(), iat.Add(time.Hour).Unix()
		_, err := tk.Verify(testtoken.Sign(t, jwt.SigningMethodHS256, testKeyA, c))
		if tt.ok && err != nil {
			t.Errorf("leeway %v, iat now%+v: %v", tt.leeway, tt.ahead, err)
		}
		if !tt.ok {
			wantUnauthorized(t, err, MsgInvalid)
			if !errors.Is(err, jwt.ErrTokenUsedBeforeIssued) {
				t.Errorf("leeway %v, iat now%+v: cause %v, want ErrTokenUsedBeforeIssued", tt.leeway, tt.ahead, err)
			}
		}
	}
}

// TestTokensSignatureEncoding: a token whose signature segment was altered is
// tampered and must be refused (contract: "bad signature, tampered ... 401
// Invalid token"). Base64url decoding in jwt v5 is lenient unless
// jwt.WithStrictDecoding is set, and Go's decoder skips CR and LF even then,
// so these alterations decode to the issued signature bytes.
func TestTokensSignatureEncoding(t *testing.T) {
	clk := testclock.New(testStart)
	tk := newTestTokens(t, clk)
	raw := mustIssue(t, tk, testUser(false)).Raw
	variants := signatureVariants(raw)
	if len(variants) != 5 {
		t.Fatalf("built %d variants, want 5", len(variants))
	}
	for _, v := range variants {
		if v.raw == raw {
			t.Fatalf("%s: not a variant", v.name)
		}
		if _, err := tk.Verify(v.raw); err == nil {
			t.Errorf("%s: Verify accepted a string that was never issued (...%q instead of ...%q)",
				v.name, v.raw[len(v.raw)-6:], raw[len(raw)-6:])
		}
	}
}

type tokenVariant struct{ name, raw string }

// signatureVariants returns strings that differ from raw only in the
// encoding of its signature segment.
func signatureVariants(raw string) []tokenVariant {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := raw[len(raw)-1]
	idx := strings.IndexByte(alphabet, last)
	var out []tokenVariant
	// 32 bytes of HMAC-SHA256 are 43 characters: the last one carries 4 bits
	// and 2 unused ones.
	for low := range 4 {
		c := alphabet[idx&^3|low]
		if c != last {
			out = append(out, tokenVariant{"unused low bits of the last character set to " + string(c), raw[:len(raw)-1] + string(c)})
		}
	}
	return append(out,
		tokenVariant{"LF appended", raw + "\n"},
		tokenVariant{"CR inserted in the signature", raw[:len(raw)-1] + "\r" + raw[len(raw)-1:]})
}

func TestTokensKeyRotation(t *testing.T) {
	clk := testclock.New(testStart)
	oldTokens := newTestTokens(t, clk) // signs with A
	rotated := newTestTokens(t, clk, func(c *TokenConfig) { c.Keys = [][]byte{testKeyB, testKeyA} })
	onlyB := newTestTokens(t, clk, func(c *TokenConfig) { c.Keys = [][]byte{testKeyB} })
	u := testUser(true)

	old := mustIssue(t, oldTokens, u)
	c, err := rotated.Verify(old.Raw)
	if err != nil {
		t.Fatalf("a token signed with the second key does not verify: %v", err)
	}
	if c.Subject != u.PublicID || !c.Admin {
		t.Errorf("claims = %+v", c)
	}

	fresh := mustIssue(t, rotated, u)
	if _, err := onlyB.Verify(fresh.Raw); err != nil {
		t.Errorf("a new token is not signed with the first key: %v", err)
	}
	_, err = oldTokens.Verify(fresh.Raw)
	wantUnauthorized(t, err, MsgInvalid)
	// A key outside the set does not verify.
	_, err = onlyB.Verify(old.Raw)
	wantUnauthorized(t, err, MsgInvalid)
	// Expiry is still reported as such for a token of the second key.
	clk.Advance(2 * time.Hour)
	_, err = rotated.Verify(old.Raw)
	wantUnauthorized(t, err, MsgExpired)
}

func TestNewTokensConfig(t *testing.T) {
	key32 := []byte(strings.Repeat("k", 32))
	key31 := []byte(strings.Repeat("k", 31))
	for _, tt := range []struct {
		name string
		cfg  TokenConfig
		ok   bool
	}{
		{"32-byte key", TokenConfig{Keys: [][]byte{key32}, TTL: time.Hour}, true},
		{"no keys", TokenConfig{TTL: time.Hour}, false},
		{"empty key", TokenConfig{Keys: [][]byte{{}}, TTL: time.Hour}, false},
		{"31-byte key", TokenConfig{Keys: [][]byte{key31}, TTL: time.Hour}, false},
		{"short second key", TokenConfig{Keys: [][]byte{key32, key31}, TTL: time.Hour}, false},
		{"zero TTL", TokenConfig{Keys: [][]byte{key32}}, false},
		{"negative TTL", TokenConfig{Keys: [][]byte{key32}, TTL: -time.Second}, false},
		{"1ns TTL", TokenConfig{Keys: [][]byte{key32}, TTL: time.Nanosecond}, true},
	} {
		tk, err := NewTokens(tt.cfg)
		if tt.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if !tt.ok && tk != nil {
			t.Errorf("%s: Tokens returned with an error", tt.name)
		}
	}

	// Without Now, the real clock is used: a fresh token verifies.
	tk, err := NewTokens(TokenConfig{Keys: [][]byte{key32}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(mustIssue(t, tk, testUser(false)).Raw); err != nil {
		t.Errorf("default clock: %v", err)
	}
}

// newTestService returns a Service over a fresh SQLite store and clk.
func newTestService(t *testing.T, clk *testclock.Clock) *Service {
	t.Helper()
	svc, err := NewService(ServiceConfig{Users: testdb.OpenSQLite(t), Tokens: newTestTokens(t, clk), Cost: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestNewServiceCost(t *testing.T) {
	tk := newTestTokens(t, testclock.New(testStart))
	for _, cost := range []int{0, 3, 32} {
		if _, err := NewService(ServiceConfig{Users: testdb.OpenSQLite(t), Tokens: tk, Cost: cost}); err == nil {
			t.Errorf("cost %d accepted", cost)
		}
	}
}

func TestServiceLogin(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(testStart)
	svc := newTestService(t, clk)
	reg, _, err := svc.Register(ctx, "Someone@Example.com", "password1", testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Email != "someone@example.com" || reg.Admin {
		t.Errorf("registered %+v", reg)
	}
	if !reg.RegisteredOn.Equal(testStart.Truncate(time.Second)) {
		t.Errorf("RegisteredOn = %v, want the clock truncated to the second", reg.RegisteredOn)
	}

	for _, tt := range []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", "password1"},
		{"wrong password", "someone@example.com", "password2"},
		{"password prefix", "someone@example.com", "password"},
		{"short password", "someone@example.com", "p"},
	} {
		u, tok, err := svc.Login(ctx, tt.email, tt.password, testOrigin)
		if widgetapi.ErrorCode(err) != widgetapi.EBADLOGIN || widgetapi.ErrorMessage(err) != MsgBadLogin {
			t.Errorf("%s: err = %v, want %s %q", tt.name, err, widgetapi.EBADLOGIN, MsgBadLogin)
		}
		if u != nil || tok.Raw != "" {
			t.Errorf("%s: returned a user or token with the error", tt.name)
		}
	}

	for _, email := range []string{"someone@example.com", "SOMEONE@example.COM"} {
		u, tok, err := svc.Login(ctx, email, "password1", testOrigin)
		if err != nil {
			t.Fatalf("login as %s: %v", email, err)
		}
		if u.PublicID != reg.PublicID {
			t.Errorf("logged in as %s, want %s", u.PublicID, reg.PublicID)
		}
		got, claims, err := svc.Authenticate(ctx, tok.Raw)
		if err != nil || got.PublicID != reg.PublicID || claims.Subject != reg.PublicID {
			t.Errorf("Authenticate: %v %+v %+v", err, got, claims)
		}
	}

	_, _, err = svc.Login(ctx, "", "", testOrigin)
	if widgetapi.ErrorCode(err) != widgetapi.EINVALID {
		t.Errorf("empty login: %v, want %s", err, widgetapi.EINVALID)
	}
	_, _, err = svc.Login(ctx, "someone@example.com", strings.Repeat("p", 73), testOrigin)
	if widgetapi.ErrorCode(err) != widgetapi.EINVALID {
		t.Errorf("73-byte password: %v, want %s", err, widgetapi.EINVALID)
	}
}

func TestServiceRegister(t *testing.T) {
	ctx := context.Background()
	svc := newTestService(t, testclock.New(testStart))
	if _, _, err := svc.Register(ctx, "A@x.io", "password1", testOrigin); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"A@x.io", "a@X.io", "a@x.io"} {
		_, tok, err := svc.Register(ctx, email, "password2", testOrigin)
		if widgetapi.ErrorCode(err) != widgetapi.ECONFLICT {
			t.Errorf("register %s again: %v, want %s", email, err, widgetapi.ECONFLICT)
		}
		if want := email + " is already registered"; widgetapi.ErrorMessage(err) != want {
			t.Errorf("message = %q, want %q", widgetapi.ErrorMessage(err), want)
		}
		if tok.Raw != "" {
			t.Errorf("a token was issued on conflict")
		}
	}

	_, _, err := svc.Register(ctx, "first last", "short", testOrigin)
	var e *widgetapi.Error
	if !errors.As(err, &e) || e.Code != widgetapi.EINVALID {
		t.Fatalf("invalid credentials: %v", err)
	}
	if e.Fields["email"] != "first last is not a valid email" || e.Fields["password"] == "" || len(e.Fields) != 2 {
		t.Errorf("fields = %v", e.Fields)
	}
}

func TestServiceAuthenticate(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(testStart)
	svc := newTestService(t, clk)
	u, tok, err := svc.Register(ctx, "someone@example.com", "password1", testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	_, tok2, err := svc.Login(ctx, "someone@example.com", "password1", testOrigin)
	if err != nil {
		t.Fatal(err)
	}

	got, claims, err := svc.Authenticate(ctx, tok.Raw)
	if err != nil || got.PublicID != u.PublicID {
		t.Fatalf("Authenticate: %v %+v", err, got)
	}
	if err := svc.Logout(ctx, got, claims, widgetapi.ScopeLocal); err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.Authenticate(ctx, tok.Raw)
	wantUnauthorized(t, err, MsgRevoked)
	if err := svc.Logout(ctx, got, claims, widgetapi.ScopeLocal); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, tok2.Raw); err != nil {
		t.Errorf("another token of the same user: %v", err)
	}

	ghost := mustIssue(t, svc.Tokens(), testUser(false))
	_, _, err = svc.Authenticate(ctx, ghost.Raw)
	wantUnauthorized(t, err, MsgInvalid)

	_, _, err = svc.Authenticate(ctx, "a.b.c")
	wantUnauthorized(t, err, MsgInvalid)

	// Purging keeps sessions, revoked or not, until they have expired.
	if n, err := svc.PurgeSessions(ctx); err != nil || n != 0 {
		t.Errorf("purge before expiry: %d %v", n, err)
	}
	clk.Advance(time.Hour + time.Second)
	_, _, err = svc.Authenticate(ctx, tok.Raw)
	wantUnauthorized(t, err, MsgExpired)
	if n, err := svc.PurgeSessions(ctx); err != nil || n != 2 {
		t.Errorf("purge after expiry: %d %v, want both sessions", n, err)
	}
}

// Every byte is a token's or not exactly as base64url and the dot say:
// alone, and anywhere in an otherwise good string.
func TestTokenAlphabetIsBase64URLAndDots(t *testing.T) {
	for b := range 256 {
		c := byte(b)
		want := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		for _, s := range []string{string(c), "eyJ" + string(c), string(c) + ".sig", "a.b" + string(c) + "c.d"} {
			if got := tokenAlphabet(s); got != want {
				t.Fatalf("tokenAlphabet(%q) = %v, want %v", s, got, want)
			}
		}
	}
	if !tokenAlphabet("") {
		t.Fatal("the empty string holds no byte a token may not")
	}
}
