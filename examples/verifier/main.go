// Command verifier checks a widgetapi access token as another service
// would: offline, from the public keys of the JWKS (signature, iss, aud,
// exp), and, when it must know of a logout or any other ending at once,
// by asking the service's introspection endpoint (RFC 7662).
//
//	go run ./examples/verifier -url http://127.0.0.1:5000 TOKEN
//	INTROSPECTION_CLIENT=gateway:SECRET go run ./examples/verifier -url http://127.0.0.1:5000 -revocation TOKEN
//
// It prints the token's claims as JSON and exits 0 when the token is
// good, else prints why and exits 1. The service must run with TOKEN_ALG
// EdDSA or ES256: HS256 tokens can only be checked with SECRET_KEY.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Config says where the service is and how to reach it.
type Config struct {
	// URL is the service's base URL, e.g. http://127.0.0.1:5000.
	URL string
	// Issuer is the service's TOKEN_ISSUER, its tokens' iss and aud.
	Issuer string
	// ClientID and ClientSecret are an introspection client of the
	// service's INTROSPECTION_CLIENTS; needed by VerifyActive only.
	ClientID, ClientSecret string
	// HTTP makes the requests; http.DefaultClient when nil.
	HTTP *http.Client
}

// Claims are what a good token says.
type Claims struct {
	Subject   string    `json:"sub"`
	SessionID string    `json:"jti"`
	Admin     bool      `json:"admin"`
	IssuedAt  time.Time `json:"iat"`
	ExpiresAt time.Time `json:"exp"`
}

// Verifier checks tokens of one service.
type Verifier struct {
	cfg    Config
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
}

// ErrInactive is a token with a good signature that the service no longer
// accepts: logged out, its session ended, its user disabled or deleted.
var ErrInactive = errors.New("token is not active")

// New fetches the service's JWKS, and keeps it fresh until ctx ends: keyfunc
// reads it again every five minutes (the service's Cache-Control), and at
// once for a kid it has not seen, at most once every five minutes.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "widgetapi"
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.URL + "/.well-known/jwks.json"},
		keyfunc.Override{Client: cfg.HTTP, RefreshInterval: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	return &Verifier{cfg: cfg, keys: k, parser: jwt.NewParser(
		// Only the asymmetric algorithms: a verifier that took HS256 could
		// be fooled by a token "signed" with the public key.
		jwt.WithValidMethods([]string{"EdDSA", "ES256"}),
		jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
	)}, nil
}

type tokenClaims struct {
	Admin bool `json:"admin"`
	jwt.RegisteredClaims
}

// Verify checks raw offline: its signature by the key its kid names in the
// JWKS, iss, aud and exp. A token logged out a moment ago still passes
// until it expires; VerifyActive knows.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	var c tokenClaims
	if _, err := v.parser.ParseWithClaims(raw, &c, v.keys.Keyfunc); err != nil {
		return nil, err
	}
	if c.IssuedAt == nil || c.ExpiresAt == nil {
		return nil, errors.New("token lacks iat or exp")
	}
	return &Claims{Subject: c.Subject, SessionID: c.ID, Admin: c.Admin, IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}

// VerifyActive checks raw offline, then asks the service whether it is
// still active: ErrInactive from the very next call after a logout or any
// other ending. Admin is the service's answer, which follows a promotion
// or demotion at once.
func (v *Verifier) VerifyActive(ctx context.Context, raw string) (*Claims, error) {
	c, err := v.Verify(raw)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.cfg.URL+"/api/v1/auth/introspect",
		strings.NewReader(url.Values{"token": {raw}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(v.cfg.ClientID, v.cfg.ClientSecret)
	res, err := v.cfg.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return nil, fmt.Errorf("introspection: %s %s", res.Status, b)
	}
	var answer struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
		Admin  bool   `json:"admin"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	if !answer.Active || answer.Sub != c.Subject {
		return nil, ErrInactive
	}
	c.Admin = answer.Admin
	return c, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "verifier:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verifier", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:5000", "the service's base URL")
	issuer := fs.String("issuer", "widgetapi", "the service's TOKEN_ISSUER")
	revocation := fs.Bool("revocation", false, "also ask the service whether the token is still active (needs INTROSPECTION_CLIENT=id:secret)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one token")
	}
	cfg := Config{URL: *base, Issuer: *issuer}
	if *revocation {
		var ok bool
		if cfg.ClientID, cfg.ClientSecret, ok = strings.Cut(getenv("INTROSPECTION_CLIENT"), ":"); !ok {
			return errors.New("-revocation needs INTROSPECTION_CLIENT=id:secret")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	v, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	var c *Claims
	if *revocation {
		c, err = v.VerifyActive(ctx, fs.Arg(0))
	} else {
		c, err = v.Verify(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
