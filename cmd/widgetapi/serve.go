package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	// Its handlers are mounted on PPROF_ADDR's own mux; the registration on
	// http.DefaultServeMux it also makes is never served.
	"net/http/pprof"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"golang.org/x/term"

	"widgetapi/httpapi"
	"widgetapi/internal/app"
	"widgetapi/internal/config"
	"widgetapi/internal/logbatch"
	"widgetapi/internal/outbox"
	"widgetapi/internal/store"
	"widgetapi/internal/surge"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	cfg, help, err := serveConfig(args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	// Request lines leave in batches, at most logDelay late: one write
	// system call a request was a few percent of the widget read. Every
	// way out of serve writes what is held.
	lines := logbatch.New(stderr, logDelay, 64<<10)
	defer lines.Close()
	logger := slog.New(logHandler(cfg, stderr, lines))
	// The API writes its request lines itself when they are JSON, in
	// the handler's form, without slog's cost.
	var requestLines io.Writer
	if logFormat(cfg, stderr) == "json" {
		requestLines = lines
	}
	logger.Info("starting", append(cfg.LogAttrs(), "version", versionString())...)
	st, err := openAndMigrate(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.OTLPEndpoint != "" {
		// The exporter reports failures (a collector down) through
		// OpenTelemetry's process-wide handler, by default the standard
		// logger; they belong in the service's log.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("tracing", "err", err) }))
	}
	v, _ := buildVersion()
	svc, err := app.New(cfg, app.Deps{Store: st, Logger: logger, RequestLines: requestLines, Version: v})
	if err != nil {
		return err
	}
	// On the way out without a drain (which stops tracing itself), the
	// spans not yet sent get SHUTDOWN_TIMEOUT to leave.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		_ = svc.Shutdown(ctx)
	}()
	ln, err := listen(cfg, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  mail: %s\n", mailLine(svc.Mail))
	stop, err := startBackground(ctx, cfg, svc, stdout, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stop()
	return serveUntilDone(ctx, newHTTPServer(ctx, svc.API, logger), ln, cfg.ShutdownTimeout, svc.Shutdown, logger)
}

const serveUsage = `Usage: widgetapi serve [flags]

Applies pending database migrations, then serves the API over HTTP.
SIGINT or SIGTERM stops accepting connections, lets in-flight requests
finish (up to SHUTDOWN_TIMEOUT) and exits 0.

Flags (each overrides its variable):
`

// serveConfig parses serve's flags and reads the configuration they
// override, with a signing key.
func serveConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (cfg config.Config, help bool, err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n"+config.Help())
	}
	if help, err := parseFlags(fs, args, stdout, stderr); help || err != nil {
		return cfg, help, err
	}
	if cfg, err = config.Load(config.WithFlags(fs, getenv)); err != nil {
		return cfg, false, err
	}
	return cfg, false, cfg.ResolveSecret()
}

// openAndMigrate opens the database and applies its pending migrations.
func openAndMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger) (store.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res, err := migrateUp(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, r := range res {
		logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return st, nil
}

// listen opens the API's listener and prints where it is.
func listen(cfg config.Config, stdout io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ADDR: listen on %s: %w", cfg.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "widgetapi %s listening on %s\n  API:        %s/api/v1\n  Swagger UI: %s/api/v1/ui\n",
		cfg.Env, base, base, base)
	return ln, nil
}

// startBackground starts what runs beside the API: the mail sender, the
// purges of expired sessions, throttle state, old audit events and sent
// mail and, with PPROF_ADDR, the profiles' listener. stop ends them all.
// The sender stops claiming as soon as ctx ends (SIGTERM), while the
// requests drain; stop waits up to SHUTDOWN_TIMEOUT for the mail it is
// sending, and leaves what is still in flight then to its claim.
func startBackground(ctx context.Context, cfg config.Config, svc *app.App, stdout io.Writer, logger *slog.Logger) (stop func(), err error) {
	stopPprof := func() {}
	if cfg.PprofAddr != "" {
		if stopPprof, err = servePprof(cfg.PprofAddr, stdout, logger); err != nil {
			return nil, err
		}
	}
	bg, stopPurge := context.WithCancel(context.Background())
	go purgeEvery(bg, time.Minute, logger, "purge expired sessions", func(ctx context.Context, _ time.Time) error {
		_, err := svc.Auth.PurgeSessions(ctx)
		return err
	})
	// Throttle state that limits nothing any more is forgotten.
	go purgeEvery(bg, time.Minute, logger, "purge throttle state", func(ctx context.Context, now time.Time) error {
		_, err := svc.Throttle.Purge(ctx, now)
		return err
	})
	// Keys rotated by any process or by `widgetapi keys rotate` reach this
	// one before they sign.
	go svc.Keys.Run(bg, func(err error) { logger.Warn("read signing keys", "err", err) })
	go svc.Audit.PurgeLoop(bg, cfg.AuditRetention, time.Hour, func(n int64, err error) {
		if err != nil {
			logger.Warn("purge old audit events", "err", err)
		} else if n > 0 {
			logger.Info("purged old audit events", "events", n, "retention", cfg.AuditRetention)
		}
	})
	stopMail := func() {}
	if svc.Mail != nil {
		mailCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); svc.Mail.Run(mailCtx) }()
		go purgeEvery(bg, time.Hour, logger, "purge sent mail", func(ctx context.Context, _ time.Time) error {
			svc.Mail.PurgeSent(ctx) // logs what it did itself
			return nil
		})
		stopMail = func() {
			cancel()
			select {
			case <-done:
			case <-time.After(cfg.ShutdownTimeout):
				logger.Warn("mail: stopped with mail in flight; it is sent again once its claim lapses")
			}
		}
	}
	return func() { stopMail(); stopPurge(); stopPprof() }, nil
}

// mailLine says where mail goes, for serve's start line.
func mailLine(s *outbox.Sender) string {
	if s == nil {
		return "off (no SMTP_URL)"
	}
	return s.Transport().String()
}

// purgeEvery runs purge every interval until ctx ends, and logs a failure
// as what, unless it is ctx's end.
func purgeEvery(ctx context.Context, interval time.Duration, logger *slog.Logger, what string, purge func(ctx context.Context, now time.Time) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := purge(ctx, now); err != nil && ctx.Err() == nil {
				logger.Warn(what, "err", err)
			}
		}
	}
}

// newHTTPServer bounds what one connection may take, and gives back the
// memory a surge of connections took once it is over. Requests keep their
// context when ctx ends: the drain lets them finish.
func newHTTPServer(ctx context.Context, api http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    httpapi.HeaderReadLimit,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnState:         surge.New(surge.Config{Logger: logger}).ConnState,
	}
}

// serveUntilDone serves on ln until ctx ends, then drains; after the HTTP
// server has shut down, stop flushes what the requests left (the spans).
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, timeout time.Duration,
	stop func(context.Context) error, logger *slog.Logger) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return drain(ctx, srv, serveErr, timeout, stop, logger)
}

// drain stops accepting connections and waits up to timeout for the
// requests in flight, then for stop; serveErr delivers what Serve returned.
func drain(ctx context.Context, srv *http.Server, serveErr <-chan error, timeout time.Duration,
	stop func(context.Context) error, logger *slog.Logger) error {
	logger.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		_ = stop(sctx) // past the deadline: stops without waiting
		return fmt.Errorf("shutdown: in-flight requests did not finish within SHUTDOWN_TIMEOUT=%s and were cut off", timeout)
	}
	// What is left of the same deadline bounds the export of the last
	// spans: SIGTERM never waits longer than SHUTDOWN_TIMEOUT.
	if err := stop(sctx); err != nil {
		logger.Warn("tracing: the last spans may be lost", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// servePprof serves Go's runtime profiles on addr until stop is called.
func servePprof(addr string, stdout io.Writer, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "  profiles:   http://%s/debug/pprof/\n", ln.Addr())
	logger.Warn("serving runtime profiles; keep this address private", "pprof_addr", ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// logDelay is how late serve's log lines may leave, gathered in batches.
const logDelay = 20 * time.Millisecond

// logFormat is LOG_FORMAT, else text when w, where the lines end up, is
// a terminal, and JSON otherwise.
func logFormat(cfg config.Config, w io.Writer) string {
	if cfg.LogFormat != "" {
		return cfg.LogFormat
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return "text"
	}
	return "json"
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger { return slog.New(logHandler(cfg, w, w)) }

// logHandler writes cfg's log format (logFormat) to out.
func logHandler(cfg config.Config, w, out io.Writer) slog.Handler {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if logFormat(cfg, w) == "text" {
		return slog.NewTextHandler(out, opts)
	}
	return slog.NewJSONHandler(out, opts)
}
