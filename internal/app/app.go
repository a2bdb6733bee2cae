// Package app puts widgetapi together: from a configuration and a store it
// builds the token issuer, the auth service, the admission gate for
// password hashing, the throttles, the metrics and the HTTP API. It is the
// one wiring of the service, used by `widgetapi serve` and by the HTTP
// tests alike, so that what is tested is what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"widgetapi"
	"widgetapi/admission"
	"widgetapi/auth"
	"widgetapi/httpapi"
	"widgetapi/internal/config"
	"widgetapi/internal/store"
	"widgetapi/ratelimit"
)

// Deps are what the service needs besides its configuration.
type Deps struct {
	Store  store.Store  // required
	Logger *slog.Logger // required
	// Now is the clock of every part; time.Now when nil.
	Now func() time.Time
	// Gate admits password hashing; one sized for the machine when nil.
	Gate *admission.Gate
	// Users, Widgets and Ready, when set, stand in for the store's own,
	// so that tests can watch or disturb them.
	Users   widgetapi.UserStore
	Widgets widgetapi.WidgetStore
	Ready   func(context.Context) error
}

// App is the service, put together.
type App struct {
	Tokens *auth.Tokens
	Auth   *auth.Service
	API    *httpapi.Server
}

// maxThrottleKeys bounds each throttle's memory (a few MiB) under a flood of
// addresses or accounts.
const maxThrottleKeys = 100_000

// New builds the service from cfg, which must hold its signing keys.
func New(cfg config.Config, d Deps) (*App, error) {
	if d.Store == nil || d.Logger == nil {
		return nil, errors.New("app: Store and Logger are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Gate == nil {
		d.Gate = NewHashGate()
	}
	if d.Users == nil {
		d.Users = d.Store
	}
	if d.Widgets == nil {
		d.Widgets = d.Store
	}
	if d.Ready == nil {
		d.Ready = d.Store.Ping
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{
		Keys: cfg.SecretKeys, Issuer: cfg.TokenIssuer, Audience: cfg.TokenAudience,
		TTL: cfg.TokenTTL, Leeway: cfg.TokenLeeway, Now: d.Now,
	})
	if err != nil {
		return nil, err
	}
	authSvc, err := auth.NewService(auth.ServiceConfig{Users: d.Users, Tokens: tokens, Cost: cfg.BcryptCost,
		Gate: d.Gate, Now: d.Now})
	if err != nil {
		return nil, err
	}
	metrics := httpapi.NewMetrics()
	if err := metrics.RegisterPools(d.Store.PoolStats); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	api, err := httpapi.New(httpapi.Config{
		Auth: authSvc, Widgets: d.Widgets, SigningKeys: cfg.SecretKeys, Ready: d.Ready, Logger: d.Logger, Metrics: metrics,
		Now: d.Now, Location: cfg.Location, Realm: cfg.Realm, AdminRealm: cfg.AdminRealm,
		TrustedProxies: cfg.TrustedProxies, CORSOrigins: cfg.CORSOrigins,
		AuthLimit:         ratelimit.New(float64(cfg.AuthPerMinute), cfg.AuthBurst, maxThrottleKeys),
		LoginFailureLimit: ratelimit.New(float64(cfg.LoginFailuresPerMinute), cfg.LoginFailuresPerMinute, maxThrottleKeys),
	})
	if err != nil {
		return nil, err
	}
	return &App{Tokens: tokens, Auth: authSvc, API: api}, nil
}

// NewHashGate bounds the bcrypt work in flight: hashes may use every core
// while no user's request is waiting, and leave one free as soon as one is;
// a short queue beyond that (at cost 12, under 3 s of waiting), then 503
// with Retry-After.
func NewHashGate() *admission.Gate {
	n := runtime.GOMAXPROCS(0)
	return admission.New(admission.Config{Slots: n, Reserved: 1, MaxQueue: 8 * n, Quiet: 200 * time.Millisecond})
}
