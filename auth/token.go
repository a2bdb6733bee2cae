// Package auth registers and logs in users, and issues, verifies and revokes
// their access tokens (JWTs signed with HS256, EdDSA or ES256).
package auth

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"widgetapi"
)

// Messages of the token failures, exactly as clients of the API expect them.
const (
	MsgUnauthorized = "Unauthorized"
	MsgExpired      = "Access token expired. Please log in again."
	MsgInvalid      = widgetapi.MsgInvalidToken
	MsgRevoked      = "Token blacklisted. Please log in again."
)

// MinKeyLength is the shortest signing key accepted: HS256 needs at least as
// many bytes of key as the hash has (RFC 7518 §3.2).
const MinKeyLength = 32

// Claims are the claims of an access token. The times are strictDates, so
// that a date sent as a JSON string ("exp": "1e13"), which jwt's own type
// takes, is refused.
type Claims struct {
	Admin bool `json:"admin"`
	// AMR is how the user authenticated (RFC 8176): ["pwd"], or ["pwd",
	// "otp"] after a second factor.
	AMR       []string    `json:"amr,omitempty"`
	ExpiresAt *strictDate `json:"exp,omitempty"`
	IssuedAt  *strictDate `json:"iat,omitempty"`
	NotBefore *strictDate `json:"nbf,omitempty"`
	jwt.RegisteredClaims
}

// The embedded RegisteredClaims' times are shadowed by the fields above.

func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.numeric(), nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.numeric(), nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.numeric(), nil }

// strictDate is a NumericDate that must be a JSON number (RFC 7519 §2).
type strictDate struct{ jwt.NumericDate }

func newStrictDate(t time.Time) *strictDate { return &strictDate{*jwt.NewNumericDate(t)} }

func (d *strictDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || '0' <= b[0] && b[0] <= '9') {
		return errors.New("a NumericDate must be a JSON number")
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	// Outside 1970..9999 a float of seconds no longer converts to a
	// time.Time faithfully; no token of ours is there.
	if f < 0 || f > maxNumericDate {
		return fmt.Errorf("NumericDate %g is out of range", f)
	}
	return d.NumericDate.UnmarshalJSON(b)
}

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

func (d *strictDate) numeric() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

// The algorithms tokens are signed with (TOKEN_ALG).
const (
	HS256 = "HS256"
	EdDSA = "EdDSA"
	ES256 = "ES256"
)

// KeySet holds the asymmetric keys tokens are signed and verified with, as
// every process shares them (package keys).
type KeySet interface {
	// SigningKey returns the kid and private key new tokens are signed
	// with now.
	SigningKey() (kid string, key crypto.Signer, err error)
	// VerifyingKey returns the public key of kid while tokens it signed
	// may be accepted.
	VerifyingKey(kid string) (crypto.PublicKey, bool)
}

// TokenConfig configures token issue and verification.
type TokenConfig struct {
	// Alg is the one algorithm tokens are signed and verified with; HS256
	// when empty. A token of any other algorithm is refused, so that a
	// public key can never be used as an HMAC secret.
	Alg string
	// Keys are HMAC keys (HS256); the first signs new tokens and all of
	// them verify, so a key can be rotated without logging everyone out.
	Keys [][]byte
	// KeySet signs and verifies under EdDSA and ES256.
	KeySet   KeySet
	Issuer   string
	Audience string
	TTL      time.Duration
	// Leeway tolerates clock skew between the processes of one deployment,
	// for an iat slightly in the future only: a token is refused from the
	// moment its exp passes, with no grace.
	Leeway time.Duration
	Now    func() time.Time
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	cfg    TokenConfig
	method jwt.SigningMethod
	parser *jwt.Parser
	keyset jwt.VerificationKeySet
	// hmacKIDs maps the kid of each HMAC key to the key.
	hmacKIDs map[string][]byte
	hmacKID  string // of the key that signs
	// verified remembers tokens whose signature and claims checked out, so
	// that a client's every request does not redo the HMAC and JSON work.
	// Only expiry can change for such a token, and it is checked on every
	// hit; revocation is the Service's job and always asks the database.
	verified *verifiedCache
}

// NewTokens checks cfg and returns a Tokens.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	var method jwt.SigningMethod
	switch cfg.Alg {
	case "", HS256:
		cfg.Alg, method = HS256, jwt.SigningMethodHS256
		if len(cfg.Keys) == 0 {
			return nil, errors.New("auth: at least one signing key is required")
		}
	case EdDSA, ES256:
		method = jwt.GetSigningMethod(cfg.Alg)
		if cfg.KeySet == nil {
			return nil, fmt.Errorf("auth: %s needs a key set", cfg.Alg)
		}
	default:
		return nil, fmt.Errorf("auth: unknown token algorithm %q", cfg.Alg)
	}
	for i, k := range cfg.Keys {
		if len(k) < MinKeyLength {
			return nil, fmt.Errorf("auth: signing key %d is %d bytes; at least %d are required", i+1, len(k), MinKeyLength)
		}
	}
	if cfg.TTL <= 0 || cfg.TTL > MaxTTL {
		return nil, fmt.Errorf("auth: token lifetime must be positive and at most %s", MaxTTL)
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("auth: leeway must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tokens{cfg: cfg, method: method, verified: newVerifiedCache(4096), hmacKIDs: map[string][]byte{}}
	for i, k := range cfg.Keys {
		t.keyset.Keys = append(t.keyset.Keys, k)
		kid := HMACKeyID(k)
		t.hmacKIDs[kid] = k
		if i == 0 {
			t.hmacKID = kid
		}
	}
	// No jwt.WithLeeway: it would extend exp too. The iat check, the one
	// place skew is tolerated, is Verify's own.
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{method.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(cfg.Now),
		// One token, one encoding: refuse base64 with stray padding bits.
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	t.parser = jwt.NewParser(opts...)
	return t, nil
}

// HMACKeyID is the kid of an HMAC key: a keyed hash of a fixed string,
// which names the key without saying anything of it.
func HMACKeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("widgetapi token key id"))
	return "hs-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// Alg is the algorithm tokens are signed with.
func (t *Tokens) Alg() string { return t.cfg.Alg }

// MaxTTL bounds the configurable token lifetime, and so how far in the
// future any accepted exp can lie.
const MaxTTL = 365 * 24 * time.Hour

// TTL is the lifetime of new tokens.
func (t *Tokens) TTL() time.Duration { return t.cfg.TTL }

// Issue signs a new token for u, whose user authenticated with amr
// (RFC 8176 methods; ["pwd"] when none is given).
func (t *Tokens) Issue(u *widgetapi.User, amr ...string) (widgetapi.AccessToken, error) {
	if len(amr) == 0 {
		amr = []string{widgetapi.AMRPassword}
	}
	now := t.cfg.Now().Truncate(time.Second)
	exp := now.Add(t.cfg.TTL)
	id := uuid.NewString()
	var err error
	claims := Claims{
		Admin:     u.Admin,
		AMR:       amr,
		IssuedAt:  newStrictDate(now),
		ExpiresAt: newStrictDate(exp),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: u.PublicID,
			ID:      id,
			Issuer:  t.cfg.Issuer,
		},
	}
	if t.cfg.Audience != "" {
		claims.Audience = jwt.ClaimStrings{t.cfg.Audience}
	}
	tok := jwt.NewWithClaims(t.method, &claims)
	var key any
	kid := t.hmacKID
	if t.cfg.Alg == HS256 {
		key = t.cfg.Keys[0]
	} else {
		var signer crypto.Signer
		kid, signer, err = t.cfg.KeySet.SigningKey()
		if err != nil {
			return widgetapi.AccessToken{}, fmt.Errorf("auth: sign token: %w", err)
		}
		key = signer
	}
	tok.Header["kid"] = kid
	raw, err := tok.SignedString(key)
	if err != nil {
		return widgetapi.AccessToken{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return widgetapi.AccessToken{Raw: raw, ID: id, IssuedAt: now, ExpiresAt: exp, TTL: t.cfg.TTL, AMR: amr}, nil
}

// Verify checks raw's signature, algorithm and claims. It returns an
// EUNAUTHORIZED error whose message says whether the token expired or is
// invalid; revocation is checked by the Service, which has the store.
func (t *Tokens) Verify(raw string) (*widgetapi.TokenClaims, error) {
	// Go's base64 decoders skip CR and LF even in strict mode; a token is
	// only ever base64url and dots, and ours are far below this size.
	if len(raw) > maxTokenLength || !tokenAlphabet(raw) {
		return nil, unauthorized(MsgInvalid, errors.New("token has characters or a length no issued token has"))
	}
	if c, ok := t.verified.get(raw); ok {
		// The same test as jwt's: expired from the moment exp passes.
		if !t.cfg.Now().Before(c.ExpiresAt) {
			return nil, unauthorized(MsgExpired, jwt.ErrTokenExpired)
		}
		return &c, nil
	}
	var claims Claims
	_, err := t.parser.ParseWithClaims(raw, &claims, t.verifyingKey)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, unauthorized(MsgExpired, err)
	case err != nil:
		return nil, unauthorized(MsgInvalid, err)
	case claims.IssuedAt == nil:
		return nil, unauthorized(MsgInvalid, errors.New("token lacks iat"))
	case claims.IssuedAt.After(t.cfg.Now().Add(t.cfg.Leeway)):
		return nil, unauthorized(MsgInvalid, jwt.ErrTokenUsedBeforeIssued)
	case !claims.ExpiresAt.After(claims.IssuedAt.Time) || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > t.cfg.TTL:
		// This service never issues such a token; one that claims a longer
		// life was made with the key but not by us, and an exp far in the
		// future would overflow the stores' timestamps.
		return nil, unauthorized(MsgInvalid, errors.New("token lifetime exceeds the configured TTL"))
	case !canonicalUUID(claims.Subject) || !canonicalUUID(claims.ID):
		// Only tokens this service issued can pass, and it issues canonical UUIDs;
		// checking here keeps odd strings away from the stores' uuid columns.
		return nil, unauthorized(MsgInvalid, errors.New("token sub or jti is not a UUID"))
	}
	c := &widgetapi.TokenClaims{
		ID:        claims.ID,
		Subject:   claims.Subject,
		Admin:     claims.Admin,
		IssuedAt:  claims.IssuedAt.Time,
		ExpiresAt: claims.ExpiresAt.Time,
		AMR:       claims.AMR,
	}
	if len(c.AMR) == 0 {
		// Issued before tokens carried amr: a password login.
		c.AMR = []string{widgetapi.AMRPassword}
	}
	t.verified.put(raw, c)
	// Handlers may keep the pointer; hand out a copy of the cached claims.
	cc := *c
	return &cc, nil
}

// Header parameters that point a verifier at a key of the token's own
// choosing (RFC 7515 §4.1) or that it must understand (crit). No token of
// ours has them, and a verifier that follows them would let anyone sign.
var refusedHeaders = [...]string{"jwk", "jku", "x5u", "x5c", "crit"}

// verifyingKey chooses the key a token is checked with, by its kid, from
// the keys of the one configured algorithm (the parser has refused any
// other alg already).
func (t *Tokens) verifyingKey(tok *jwt.Token) (any, error) {
	for _, h := range refusedHeaders {
		if _, ok := tok.Header[h]; ok {
			return nil, fmt.Errorf("token header has %q", h)
		}
	}
	v, hasKID := tok.Header["kid"]
	kid, ok := v.(string)
	if hasKID && !ok {
		return nil, errors.New("token kid is not a string")
	}
	if t.cfg.Alg == HS256 {
		if !hasKID {
			// Tokens issued before tokens carried a kid.
			return t.keyset, nil
		}
		if k, ok := t.hmacKIDs[kid]; ok {
			return k, nil
		}
		return nil, errors.New("token kid is not one of ours")
	}
	if !hasKID {
		return nil, errors.New("token has no kid")
	}
	pub, ok := t.cfg.KeySet.VerifyingKey(kid)
	if !ok {
		return nil, errors.New("token kid is not one of ours")
	}
	return pub, nil
}

func unauthorized(msg string, cause error) error {
	return &widgetapi.Error{Code: widgetapi.EUNAUTHORIZED, Message: msg, Err: cause}
}

func canonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// maxTokenLength bounds the work spent on a string that cannot be a token.
const maxTokenLength = 4096

// tokenAlphabet reports whether s holds only base64url digits and dots.
// It runs over every token of every request, so it looks each byte up in
// a table rather than comparing it with six ranges.
func tokenAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenBytes[s[i]] {
			return false
		}
	}
	return true
}

// tokenBytes marks the bytes a token may hold.
var tokenBytes = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") {
		t[c] = true
	}
	return t
}()
