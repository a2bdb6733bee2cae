package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/auth"
	"widgetapi/internal/sealed"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testtoken"
	"widgetapi/keys"
)

var algSecret = []byte("alg-test-secret-key-0123456789abcdef")

// asymmetric returns Tokens signing with alg from a fresh key set, and the
// set.
func asymmetric(t *testing.T, alg string) (*auth.Tokens, *keys.Manager) {
	t.Helper()
	box, err := sealed.New([][]byte{algSecret})
	if err != nil {
		t.Fatal(err)
	}
	m, err := keys.New(keys.Config{Store: testdb.OpenSQLite(t), Box: box, Alg: alg, TTL: time.Hour, PublishAhead: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	tk, err := auth.NewTokens(auth.TokenConfig{Alg: alg, KeySet: m, Issuer: "widgetapi", Audience: "widgetapi", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tk, m
}

func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Header
}

func issue(t *testing.T, tk *auth.Tokens) widgetapi.AccessToken {
	t.Helper()
	tok, err := tk.Issue(&widgetapi.User{PublicID: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signWithHeader signs claims with method and key, adding hdr to the
// header jwt writes.
func signWithHeader(t *testing.T, method jwt.SigningMethod, key any, hdr map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Every alg-confusion trick against asymmetric tokens is refused: an
// HS256 token keyed with the published public key (in each form a
// verifier might hold it), alg none, a kid that is not ours, a token with
// no kid, one of the other asymmetric algorithm, and a key embedded in or
// pointed to by the header.
func TestAlgConfusionRefused(t *testing.T) {
	for _, alg := range []string{keys.EdDSA, keys.ES256} {
		t.Run(alg, func(t *testing.T) {
			tk, m := asymmetric(t, alg)
			good := issue(t, tk)
			h := header(t, good.Raw)
			kid, _ := h["kid"].(string)
			if h["alg"] != alg || kid == "" {
				t.Fatalf("header %v", h)
			}
			if _, err := tk.Verify(good.Raw); err != nil {
				t.Fatalf("a token just issued: %v", err)
			}
			set, err := m.JWKS(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			list, err := m.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			pub := list[0].Public
			der, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			claims := func() jwt.MapClaims { return testtoken.Claims(time.Now(), uuid.NewString()) }

			attackerEd := func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }()
			attackerEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerEd.Public().(ed25519.PublicKey))}

			var rawPub []byte
			switch p := pub.(type) {
			case ed25519.PublicKey:
				rawPub = p
			case *ecdsa.PublicKey:
				rawPub, _ = p.Bytes()
			}
			attacks := map[string]string{
				"HS256 keyed with the PEM public key": signWithHeader(t, jwt.SigningMethodHS256, pemKey, map[string]any{"kid": kid}, claims()),
				"HS256 keyed with the DER public key": signWithHeader(t, jwt.SigningMethodHS256, der, map[string]any{"kid": kid}, claims()),
				"HS256 keyed with the raw public key": signWithHeader(t, jwt.SigningMethodHS256, rawPub, map[string]any{"kid": kid}, claims()),
				"HS256 keyed with the JWK's x":        signWithHeader(t, jwt.SigningMethodHS256, []byte(set.Keys[0].X), map[string]any{"kid": kid}, claims()),
				"alg none": signWithHeader(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
					map[string]any{"kid": kid}, claims()),
				"a kid not ours":       signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd, map[string]any{"kid": "attacker"}, claims()),
				"our kid, another key": signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd, map[string]any{"kid": kid}, claims()),
				"no kid":               signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd, nil, claims()),
				"a kid not a string":   signWithHeader(t, jwt.SigningMethodES256, attackerEC, map[string]any{"kid": 1}, claims()),
				"ES256 under our kid":  signWithHeader(t, jwt.SigningMethodES256, attackerEC, map[string]any{"kid": kid}, claims()),
				"an embedded jwk": signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd,
					map[string]any{"jwk": attackerJWK}, claims()),
				"an embedded jwk beside our kid": signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd,
					map[string]any{"kid": kid, "jwk": attackerJWK}, claims()),
				"a jku": signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd,
					map[string]any{"kid": kid, "jku": "https://attacker.example/jwks.json"}, claims()),
				"an x5c": signWithHeader(t, jwt.SigningMethodEdDSA, attackerEd,
					map[string]any{"kid": kid, "x5c": []string{"MIIB"}}, claims()),
			}
			for name, raw := range attacks {
				_, err := tk.Verify(raw)
				if widgetapi.ErrorCode(err) != widgetapi.EUNAUTHORIZED || widgetapi.ErrorMessage(err) != auth.MsgInvalid {
					t.Errorf("%s: Verify = %v, want 401 %q", name, err, auth.MsgInvalid)
				}
			}
			// The header parameters are refused even on a token our key
			// signed: no verifier of ours ever follows them.
			_, priv, err := m.SigningKey()
			if err != nil {
				t.Fatal(err)
			}
			withJKU := signWithHeader(t, jwt.GetSigningMethod(alg), priv,
				map[string]any{"kid": kid, "jku": "https://attacker.example/jwks.json"}, claims())
			if _, err := tk.Verify(withJKU); err == nil {
				t.Error("a token with a jku header passed")
			}
		})
	}
}

// HS256 tokens carry the kid of their key; a kid that names none of
// SECRET_KEY's keys is refused, and a token from before kids verifies.
func TestHS256KeyID(t *testing.T) {
	a := []byte("hs256-kid-test-key-A-0123456789abcdef")
	b := []byte("hs256-kid-test-key-B-0123456789abcdef")
	tk, err := auth.NewTokens(auth.TokenConfig{Keys: [][]byte{b, a}, Issuer: "widgetapi", Audience: "widgetapi", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tok := issue(t, tk)
	if h := header(t, tok.Raw); h["alg"] != "HS256" || h["kid"] != auth.HMACKeyID(b) {
		t.Errorf("header %v, want the kid of the first key", h)
	}
	if strings.Contains(auth.HMACKeyID(a), string(a[:8])) || auth.HMACKeyID(a) == auth.HMACKeyID(b) {
		t.Error("kids are not keyed hashes")
	}
	claims := testtoken.Claims(time.Now(), uuid.NewString())
	if _, err := tk.Verify(signWithHeader(t, jwt.SigningMethodHS256, a, map[string]any{"kid": auth.HMACKeyID(a)}, claims)); err != nil {
		t.Errorf("the second key's token: %v", err)
	}
	if _, err := tk.Verify(signWithHeader(t, jwt.SigningMethodHS256, a, nil, claims)); err != nil {
		t.Errorf("a token without kid: %v", err)
	}
	if _, err := tk.Verify(signWithHeader(t, jwt.SigningMethodHS256, a, map[string]any{"kid": "hs-other"}, claims)); err == nil {
		t.Error("a token with an unknown kid passed")
	}
	if _, err := tk.Verify(signWithHeader(t, jwt.SigningMethodHS256, a, map[string]any{"kid": auth.HMACKeyID(a), "jwk": map[string]any{"kty": "oct"}}, claims)); err == nil {
		t.Error("a token with a jwk header passed")
	}
	// EdDSA tokens are refused by an HS256 service.
	etk, _ := asymmetric(t, keys.EdDSA)
	if _, err := tk.Verify(issue(t, etk).Raw); err == nil {
		t.Error("an EdDSA token passed under HS256")
	}
}
