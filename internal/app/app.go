// Package app puts widgetapi together: from a configuration and a store it
// builds the token issuer, the auth service, the admission gate for
// password hashing, the throttles, the metrics, the tracing (when
// OTEL_EXPORTER_OTLP_ENDPOINT is set) and the HTTP API. It is the
// one wiring of the service, used by `widgetapi serve` and by the HTTP
// tests alike, so that what is tested is what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"widgetapi"
	"widgetapi/accounts"
	"widgetapi/admission"
	"widgetapi/audit"
	"widgetapi/auth"
	"widgetapi/httpapi"
	"widgetapi/internal/config"
	"widgetapi/internal/mailer"
	"widgetapi/internal/mailtext"
	"widgetapi/internal/outbox"
	"widgetapi/internal/sealed"
	"widgetapi/internal/store"
	"widgetapi/internal/tracing"
	"widgetapi/keys"
	"widgetapi/listmemo"
	"widgetapi/mfa"
)

// Deps are what the service needs besides its configuration.
type Deps struct {
	Store  store.Store  // required
	Logger *slog.Logger // required
	// RequestLines, when set, receives the API's request lines, written
	// by hand in the form of Logger's JSON handler (httpapi.Config).
	RequestLines io.Writer
	// Now is the clock of every part; time.Now when nil.
	Now func() time.Time
	// Gate admits password hashing; one sized for the machine when nil.
	Gate *admission.Gate
	// Users, Widgets and Ready, when set, stand in for the store's own,
	// so that tests can watch or disturb them.
	Users   widgetapi.UserStore
	Widgets widgetapi.WidgetStore
	Ready   func(context.Context) error
	// Version is the service.version of the traces, if any.
	Version string
	// Mail is where the sender delivers; the transport cfg names when
	// nil (tests give one that trusts their own server's certificate).
	Mail mailer.Transport
	// WakeMail, when set, is called after a flow committed mail to the
	// outbox, so that the sender delivers it at once.
	WakeMail func()
}

// App is the service, put together.
type App struct {
	Tokens *auth.Tokens
	// Keys is the set of asymmetric signing keys; serve refreshes it.
	Keys  *keys.Manager
	Auth  *auth.Service
	Audit *audit.Log
	// Throttle keeps the limits; serve purges it.
	Throttle widgetapi.Throttle
	API      *httpapi.Server
	// Tracing exports the traces when OTEL_EXPORTER_OTLP_ENDPOINT is set;
	// it is nil otherwise.
	Tracing *sdktrace.TracerProvider
	// Mail delivers the outbox; serve runs it. It is nil when mail is off
	// (production without SMTP_URL). A flow's caller calls Mail.Wake after
	// queueing mail.
	Mail *outbox.Sender
}

// Limits are the throttling policy of cfg. An address is known to an
// account for 30 days after it logged in to it.
func Limits(cfg config.Config) widgetapi.Limits {
	return widgetapi.Limits{AddressPerMinute: cfg.AuthPerMinute, AddressBurst: cfg.AuthBurst,
		FailuresPerMinute: cfg.LoginFailuresPerMinute, AccountPerHour: cfg.AccountFailuresPerHour,
		KnownFor: 30 * 24 * time.Hour}
}

// New builds the service from cfg, which must hold its signing keys. With
// cfg.OTLPEndpoint set, requests and their database calls are traced; call
// Shutdown after the HTTP server has shut down.
func New(cfg config.Config, d Deps) (a *App, err error) {
	if d.Store == nil || d.Logger == nil {
		return nil, errors.New("app: Store and Logger are required")
	}
	// The sender polls the outbox every fraction of a second: a trace a
	// poll would bury the requests' traces, so it is given the store
	// untraced.
	outboxStore := d.Store
	// Without an endpoint nothing of tracing is built: no tracer, no
	// wrapped store, nothing on the request path but a nil check.
	var tp *sdktrace.TracerProvider
	var tracer trace.TracerProvider
	if cfg.OTLPEndpoint != "" {
		tp, err = tracing.NewProvider(context.Background(), tracing.Options{
			Endpoint: cfg.OTLPEndpoint, ServiceName: cfg.ServiceName, ServiceVersion: d.Version})
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				_ = tp.Shutdown(context.Background())
			}
		}()
		tracer = tp
		db := tracing.NewDB(tp, d.Store.Engine())
		if d.Users != nil {
			d.Users = db.Users(d.Users)
		}
		if d.Widgets != nil {
			d.Widgets = db.Widgets(d.Widgets)
		}
		d.Store = db.Store(d.Store)
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
	keyset, err := NewKeys(cfg, d.Store, d.Now)
	if err != nil {
		return nil, err
	}
	// The first key is made here, before any request may need it.
	ctx, cancel := context.WithTimeout(context.Background(), keysTimeout)
	defer cancel()
	if err := keyset.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	tcfg := auth.TokenConfig{Alg: cfg.TokenAlg,
		Keys: cfg.SecretKeys, Issuer: cfg.TokenIssuer, Audience: cfg.TokenAudience,
		TTL: cfg.TokenTTL, Leeway: cfg.TokenLeeway, Now: d.Now,
	}
	if keys.Asymmetric(cfg.TokenAlg) {
		tcfg.KeySet = keyset
	}
	tokens, err := auth.NewTokens(tcfg)
	if err != nil {
		return nil, err
	}
	auditLog := audit.New(d.Store, d.Logger, d.Now)
	if d.Mail == nil {
		d.Mail = mailer.New(cfg)
	}
	var sender *outbox.Sender
	if d.Mail != nil {
		sender = outbox.New(outbox.Config{Store: outboxStore, Transport: d.Mail, Logger: d.Logger, Now: d.Now,
			RetryFor: cfg.MailRetryFor})
		// A flow that queued mail has it sent at once, not at the next poll.
		if d.WakeMail == nil {
			d.WakeMail = sender.Wake
		}
	}
	var mail *auth.Mail
	if cfg.MailEnabled() {
		texts, err := mailtext.New()
		if err != nil {
			return nil, err
		}
		mail = &auth.Mail{Texts: texts, AccountPage: cfg.AccountPage,
			VerifyTTL: cfg.VerifyTokenTTL, ResetTTL: cfg.ResetTokenTTL, Wake: d.WakeMail}
	}
	box, err := sealed.New(cfg.SecretKeys)
	if err != nil {
		return nil, err
	}
	authSvc, err := auth.NewService(auth.ServiceConfig{Users: d.Users, Tokens: tokens, Cost: cfg.BcryptCost,
		TOTP: mfa.New(box, d.Now), Gate: d.Gate, Now: d.Now, Audit: auditLog, Mail: mail})
	if err != nil {
		return nil, err
	}
	throttle := d.Store.Throttle(Limits(cfg))
	metrics := httpapi.NewMetrics()
	if err := metrics.RegisterPools(d.Store.PoolStats); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if sender != nil {
		if err := metrics.Register(sender.Collectors()...); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	api, err := httpapi.New(httpapi.Config{
		Auth: authSvc, Accounts: accounts.New(d.Users, auditLog, d.Now), Audit: auditLog, Widgets: d.Widgets,
		SigningKeys: cfg.SecretKeys, Ready: d.Ready, Logger: d.Logger, RequestLines: d.RequestLines, Metrics: metrics,
		Now: d.Now, Location: cfg.Location, Realm: cfg.Realm, AdminRealm: cfg.AdminRealm,
		TrustedProxies: cfg.TrustedProxies, CORSOrigins: cfg.CORSOrigins,
		Throttle:             throttle,
		RequireVerifiedEmail: cfg.RequireVerifiedEmail,
		TracerProvider:       tracer,
		// A page of 10 is about 4 KB, of 100 about 40 KB: at most a few
		// tens of megabytes for the most varied traffic.
		Lists:                listmemo.New(1024),
		JWKS:                 keyset.JWKS,
		IntrospectionClients: auth.NewClients(clientSecrets(cfg.IntrospectionClients)),
		TokenIssuer:          cfg.TokenIssuer, TokenAudience: cfg.TokenAudience,
		RequireAdminMFA: cfg.RequireAdminMFA,
	})
	if err != nil {
		return nil, err
	}
	return &App{Tokens: tokens, Keys: keyset, Auth: authSvc, Audit: auditLog, Throttle: throttle, API: api, Tracing: tp, Mail: sender}, nil
}

func clientSecrets(clients []config.Client) map[string]string {
	m := make(map[string]string, len(clients))
	for _, c := range clients {
		m[c.ID] = c.Secret
	}
	return m
}

// keysTimeout bounds the making of the first signing key at start.
const keysTimeout = 30 * time.Second

// NewKeys returns the signing key set of cfg over st, nothing loaded yet;
// serve and the keys commands share it.
func NewKeys(cfg config.Config, st keys.Store, now func() time.Time) (*keys.Manager, error) {
	box, err := sealed.New(cfg.SecretKeys)
	if err != nil {
		return nil, err
	}
	return keys.New(keys.Config{Store: st, Box: box, Alg: cfg.TokenAlg, TTL: cfg.TokenTTL, Leeway: cfg.TokenLeeway,
		PublishAhead: cfg.KeyPublishAhead, Now: now})
}

// Shutdown exports the spans not yet sent and stops tracing, within ctx;
// with tracing off it does nothing. Later calls return at once.
func (a *App) Shutdown(ctx context.Context) error {
	if a.Tracing == nil {
		return nil
	}
	return a.Tracing.Shutdown(ctx)
}

// NewHashGate bounds the bcrypt work in flight: hashes may use every core
// while no user's request is waiting, and leave one free as soon as one is;
// a short queue beyond that (at cost 12, under 3 s of waiting), then 503
// with Retry-After.
func NewHashGate() *admission.Gate {
	n := runtime.GOMAXPROCS(0)
	return admission.New(admission.Config{Slots: n, Reserved: 1, MaxQueue: 8 * n, Quiet: 200 * time.Millisecond})
}
