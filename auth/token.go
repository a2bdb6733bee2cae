// Package auth registers and logs in users, and issues, verifies and revokes
// their access tokens (HS256 JWTs).
package auth

import (
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
	Admin     bool        `json:"admin"`
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

// TokenConfig configures token issue and verification.
type TokenConfig struct {
	// Keys are HMAC keys; the first signs new tokens and all of them verify,
	// so a key can be rotated without logging everyone out.
	Keys     [][]byte
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
	parser *jwt.Parser
	keyset jwt.VerificationKeySet
	// verified remembers tokens whose signature and claims checked out, so
	// that a client's every request does not redo the HMAC and JSON work.
	// Only expiry can change for such a token, and it is checked on every
	// hit; revocation is the Service's job and always asks the database.
	verified *verifiedCache
}

// NewTokens checks cfg and returns a Tokens.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("auth: at least one signing key is required")
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
	t := &Tokens{cfg: cfg, verified: newVerifiedCache(4096)}
	for _, k := range cfg.Keys {
		t.keyset.Keys = append(t.keyset.Keys, k)
	}
	// No jwt.WithLeeway: it would extend exp too. The iat check, the one
	// place skew is tolerated, is Verify's own.
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
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

// MaxTTL bounds the configurable token lifetime, and so how far in the
// future any accepted exp can lie.
const MaxTTL = 365 * 24 * time.Hour

// TTL is the lifetime of new tokens.
func (t *Tokens) TTL() time.Duration { return t.cfg.TTL }

// Issue signs a new token for u.
func (t *Tokens) Issue(u *widgetapi.User) (widgetapi.AccessToken, error) {
	now := t.cfg.Now().Truncate(time.Second)
	exp := now.Add(t.cfg.TTL)
	id := uuid.NewString()
	claims := Claims{
		Admin:     u.Admin,
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
	raw, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &claims).SignedString(t.cfg.Keys[0])
	if err != nil {
		return widgetapi.AccessToken{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return widgetapi.AccessToken{Raw: raw, ID: id, IssuedAt: now, ExpiresAt: exp, TTL: t.cfg.TTL}, nil
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
	_, err := t.parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) {
		return t.keyset, nil
	})
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
	}
	t.verified.put(raw, c)
	// Handlers may keep the pointer; hand out a copy of the cached claims.
	cc := *c
	return &cc, nil
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

func tokenAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
