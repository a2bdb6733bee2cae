package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testtoken"
)

// The users of FuzzVerify's setup. Their ids are fixed because the fuzzing
// coordinator and each worker process run the setup separately, and a jti is
// random: the seeds a worker receives were issued by another process.
var (
	fuzzUser  = &widgetapi.User{ID: 1, Email: "user@example.com", PublicID: "6f1c3b5e-8a4d-4c2b-9e7f-1a2b3c4d5e6f"}
	fuzzAdmin = &widgetapi.User{ID: 2, Email: "admin@example.com", PublicID: "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70", Admin: true}
)

// canonicalJWS reports whether raw is three base64url segments, each the
// one canonical encoding of its bytes (no padding bits set, no CR or LF).
func canonicalJWS(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
			return false
		}
	}
	return true
}

// FuzzVerify: no string makes Verify panic, and none verifies except a token
// issued in the setup below, byte for byte. Within one process that is the
// set of tokens issued here; across processes (a worker receives seeds issued
// by the coordinator) it is a token for one of the setup's users, with the
// setup's times, in its one canonical encoding: the fuzzer cannot forge an
// HMAC, so such a string is exactly what some setup issued. Every refusal is
// an EUNAUTHORIZED error saying the token is invalid or expired.
func FuzzVerify(f *testing.F) {
	clk := testclock.New(testStart)
	tk := newTestTokens(f, clk, func(c *TokenConfig) { c.Keys = [][]byte{testKeyA, testKeyB} })
	// With the clock frozen the setup's tokens stay valid for the whole run.
	user, admin := fuzzUser, fuzzAdmin
	known := map[string]bool{user.PublicID: user.Admin, admin.PublicID: admin.Admin}
	iat := clk.Now().Truncate(time.Second)
	issued := map[string]bool{}
	for _, u := range []*widgetapi.User{user, admin} {
		tok, err := tk.Issue(u)
		if err != nil {
			f.Fatal(err)
		}
		issued[tok.Raw] = true
	}
	// One token signed with the second (rotation) key, which verifies too.
	rotated := newTestTokens(f, clk, func(c *TokenConfig) { c.Keys = [][]byte{testKeyB} })
	rtok, err := rotated.Issue(user)
	if err != nil {
		f.Fatal(err)
	}
	issued[rtok.Raw] = true
	for raw := range issued {
		if _, err := tk.Verify(raw); err != nil {
			f.Fatalf("setup token does not verify: %v", err)
		}
	}

	for raw := range issued {
		parts := strings.Split(raw, ".")
		f.Add(raw)
		f.Add(testtoken.Tamper(f, raw, func(m map[string]any) { m["admin"] = true }))
		f.Add(testtoken.Tamper(f, raw, func(m map[string]any) { m["exp"] = m["exp"].(float64) + 3600 }))
		f.Add(testtoken.Tamper(f, raw, func(m map[string]any) { delete(m, "jti") }))
		f.Add(parts[0] + "." + parts[1])
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(raw + ".")
		f.Add(raw[:len(raw)-1])
		f.Add(strings.ToUpper(raw))
		f.Add(" " + raw)
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".")
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS512","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2])
		f.Add(strings.Replace(raw, ".", "=.", 2))
		// Re-encodings of the signature that decode to the same bytes.
		for _, v := range signatureVariants(raw) {
			f.Add(v.raw)
		}
	}
	c := testtoken.Claims(clk.Now(), user.PublicID)
	f.Add(testtoken.Sign(f, jwt.SigningMethodHS384, testKeyA, c))
	f.Add(testtoken.Sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, c))
	f.Add(testtoken.Sign(f, jwt.SigningMethodHS256, []byte("some-other-key-that-is-long-enough!!"), c))
	c["sub"] = uuid.NewString()
	c["nbf"] = float64(clk.Now().Unix() + 10)
	f.Add(testtoken.Sign(f, jwt.SigningMethodHS256, testKeyA, c))
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", "abc", "Bearer a.b.c", "e30.e30.", "e30.e30.e30",
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.", "\x00", "\xff\xfe.\xff.\xff",
		strings.Repeat("a", 1<<16), strings.Repeat(".", 1<<12), strings.Repeat("eyJ", 1<<14) + ".x.y",
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"../../etc/passwd"}`)) + ".e30.",
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","crit":["exp"]}`)) + "." +
			base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1e309}`)) + ".",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := tk.Verify(raw)
		if issued[raw] {
			if err != nil {
				t.Fatalf("an issued token failed: %v", err)
			}
			return
		}
		if err == nil {
			if !canonicalJWS(raw) {
				t.Fatalf("Verify accepted a re-encoding of a token, which was never issued as such (%d bytes, ending %q): %q", len(raw), raw[max(0, len(raw)-8):], raw)
			}
			admin, ok := known[claims.Subject]
			if !ok || claims.Admin != admin || !claims.IssuedAt.Equal(iat) || !claims.ExpiresAt.Equal(iat.Add(time.Hour)) {
				t.Fatalf("Verify accepted claims no setup issued: %+v", claims)
			}
			return
		}
		if claims != nil {
			t.Fatalf("claims returned with an error")
		}
		if code := widgetapi.ErrorCode(err); code != widgetapi.EUNAUTHORIZED {
			t.Fatalf("code = %q, want %q: %v", code, widgetapi.EUNAUTHORIZED, err)
		}
		if msg := widgetapi.ErrorMessage(err); msg != MsgInvalid && msg != MsgExpired {
			t.Fatalf("message = %q", msg)
		}
	})
}
