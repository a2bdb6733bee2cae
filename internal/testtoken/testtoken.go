// Package testtoken makes JWTs as an attacker would, for the tests of token
// verification: signed with any key and algorithm, with any header and
// claims, or edited after signing.
package testtoken

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Claims returns the claims of a valid one-hour token for sub issued at
// now, as this service issues them with issuer and audience "widgetapi".
func Claims(now time.Time, sub string) jwt.MapClaims {
	now = now.Truncate(time.Second)
	return jwt.MapClaims{
		"sub":   sub,
		"admin": false,
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"jti":   uuid.NewString(),
		"iss":   "widgetapi",
		"aud":   []string{"widgetapi"},
	}
}

// Sign signs claims with method and key, as jwt does.
func Sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	raw, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Forge builds a JWT from a raw header and claims, signed with key under
// HS256 whatever the header says, so that header tricks reach the verifier.
func Forge(t testing.TB, header, claims map[string]any, key []byte) string {
	t.Helper()
	unsigned := encode(t, header) + "." + encode(t, claims)
	sig, err := jwt.SigningMethodHS256.Sign(unsigned, key)
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// ForgeWith builds a JWT from a raw header and claims, signed with method
// and key whatever the header says.
func ForgeWith(t testing.TB, method jwt.SigningMethod, header, claims map[string]any, key any) string {
	t.Helper()
	unsigned := encode(t, header) + "." + encode(t, claims)
	sig, err := method.Sign(unsigned, key)
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Tamper rewrites the claims of raw with mutate, keeping its header and
// signature.
func Tamper(t testing.TB, raw string, mutate func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	m := Payload(t, raw)
	mutate(m)
	parts[1] = encode(t, m)
	return strings.Join(parts, ".")
}

// Payload decodes the claims of raw.
func Payload(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
