package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// JWK is a public key as RFC 7517 writes it: the OKP form of RFC 8037 for
// Ed25519, the EC form of RFC 7518 §6.2 for P-256. Written by hand: the
// two shapes are a dozen lines, and a JOSE library would be a dependency
// for them alone (golang-jwt signs and verifies already).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// jwkAge is how stale the set a JWKS is made from may be: a verifier that
// fetches the JWKS right after a rotation finds the new key, whichever
// process answers.
const jwkAge = time.Second

// JWKS returns the public keys a verifier needs now (next, signing and
// verifying ones); none under HS256.
func (m *Manager) JWKS(ctx context.Context) (JWKS, error) {
	set := JWKS{Keys: []JWK{}}
	if !Asymmetric(m.cfg.Alg) {
		return set, nil
	}
	if err := m.refreshIfOlder(ctx, jwkAge); err != nil && !m.loaded() {
		// With the database away, the keys read last are still the
		// right answer for as long as a rotation takes to sign.
		return set, err
	}
	for _, s := range m.published(m.cfg.Now()) {
		j, err := s.JWK()
		if err != nil {
			return set, err
		}
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}

// JWK returns k's public key as a JWK.
func (k *Key) JWK() (JWK, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	j := JWK{KID: k.KID, Alg: k.Alg, Use: "sig"}
	switch pub := k.Public.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	case *ecdsa.PublicKey:
		// The uncompressed point: 0x04, then X and Y of 32 bytes each.
		p, err := pub.Bytes()
		if err != nil || len(p) != 65 {
			return j, fmt.Errorf("keys: public key %s is not a P-256 point", k.KID)
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(p[1:33]), b64(p[33:])
	default:
		return j, fmt.Errorf("keys: public key %s is a %T", k.KID, k.Public)
	}
	return j, nil
}

// MarshalJSON keeps the JSON of an empty set {"keys": []}, never null.
func (s JWKS) MarshalJSON() ([]byte, error) {
	keys := s.Keys
	if keys == nil {
		keys = []JWK{}
	}
	return json.Marshal(struct {
		Keys []JWK `json:"keys"`
	}{keys})
}
