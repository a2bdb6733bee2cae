// Package config reads widgetapi's configuration from its environment
// variables. One table of settings is the only home of each variable's name,
// flag, default, help and parsing: Load, Help, the flags of the commands and
// the configuration logged at start all come from it.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"widgetapi/auth"
)

// The environments.
const (
	Development = "development"
	Testing     = "testing"
	Production  = "production"
)

// environments are the environments in the order their defaults are shown.
var environments = [...]string{Production, Development, Testing}

// Config is the effective configuration of one process.
type Config struct {
	Env         string
	Addr        string
	DataDir     string
	DatabaseURL string
	SecretKeys  [][]byte
	// SecretSource says where SecretKeys came from, SECRET_KEY or the file
	// generated in DataDir; it is logged in place of the keys.
	SecretSource  string
	TokenTTL      time.Duration
	TokenLeeway   time.Duration
	TokenIssuer   string
	TokenAudience string
	// TokenAlg is HS256 (SECRET_KEY signs), EdDSA or ES256 (keys in the
	// database sign, their public halves published as a JWKS).
	TokenAlg string
	// KeyPublishAhead is how long a rotated key is published before it
	// signs.
	KeyPublishAhead time.Duration
	// IntrospectionClients may call POST /auth/introspect.
	IntrospectionClients []Client
	BcryptCost           int
	Location             *time.Location
	CORSOrigins          []string
	LogLevel             slog.Level
	LogFormat            string // json, text, or empty to choose by the output
	Realm                string
	AdminRealm           string
	TrustedProxies       []netip.Prefix
	ShutdownTimeout      time.Duration
	DBMaxConns           int
	DBTimeout            time.Duration
	// AuthPerMinute limits credential requests (register, login) per
	// client address, with a burst of AuthBurst; LoginFailuresPerMinute
	// limits failed logins per account and address. 0 disables a limit.
	AuthPerMinute          int
	AuthBurst              int
	LoginFailuresPerMinute int
	// AccountFailuresPerHour limits failed logins per account across
	// addresses, but from addresses that logged in to it lately.
	AccountFailuresPerHour int
	// AuditRetention is how long audit events are kept.
	AuditRetention time.Duration
	// PprofAddr, when set, serves Go's profiles on a listener of its own,
	// never on the API's.
	PprofAddr string
	// OTLPEndpoint, when set, turns tracing on: the base URL of an
	// OpenTelemetry collector's OTLP/HTTP receiver. ServiceName is the
	// service.name of the traces.
	OTLPEndpoint string
	ServiceName  string

	// SMTP is the mail server, nil without SMTP_URL (then mail goes to
	// .eml files outside production, and is off in production).
	SMTP     *SMTP
	MailFrom *mail.Address
	// MailRetryFor is how long a mail that fails for a passing reason is
	// tried again before it is marked failed.
	MailRetryFor time.Duration
	// PublicURL is the base URL links in mail start with; AccountPagesURL,
	// when set, replaces PublicURL + "/account" for those links.
	PublicURL       string
	AccountPagesURL string
	VerifyTokenTTL  time.Duration
	ResetTokenTTL   time.Duration
	// RequireVerifiedEmail refuses unverified accounts' tokens but on the
	// routes that manage the account itself.
	RequireVerifiedEmail bool
	// RequireAdminMFA refuses administrators' tokens without a second
	// factor on admin routes.
	RequireAdminMFA bool
}

// setting is one environment variable.
type setting struct {
	name string
	flag string // the flag of serve that overrides it, if any
	// help is one line; code is in backquotes, as in README.md, and the
	// backquotes are dropped for --help.
	help string
	// def gives, for an environment, the value used when the variable is
	// unset or empty. When it is nil, parse is given the empty value and
	// unset describes what that means.
	def   func(env string) string
	unset string
	value
}

// value parses a variable into the Config a table was made for, and shows
// it for the log, never a secret.
type value struct {
	parse func(name, v string) error
	show  func() any
}

// then runs check after a successful parse, with the parsed value in place.
func (v value) then(check func(name, raw string) error) value {
	parse := v.parse
	v.parse = func(name, raw string) error {
		if err := parse(name, raw); err != nil {
			return err
		}
		return check(name, raw)
	}
	return v
}

func always(v string) func(string) string { return func(string) string { return v } }

func byEnv(production, development, testing string) func(string) string {
	return func(env string) string {
		switch env {
		case Production:
			return production
		case Testing:
			return testing
		}
		return development
	}
}

// table returns the settings bound to c: parse writes into c and show reads
// from it. Load reads them in this order; APP_ENV comes first because the
// other defaults depend on it, and DATA_DIR before DATABASE_URL.
func table(c *Config) []setting {
	return []setting{
		{name: "APP_ENV", flag: "env", help: "`development`, `testing` or `production`",
			def: always(Development), value: value{
				parse: func(name, v string) error {
					switch v {
					case Development, Testing, Production:
						c.Env = v
						return nil
					}
					return fmt.Errorf("%s: %q is not one of development, testing, production", name, v)
				},
				show: func() any { return c.Env },
			}},
		{name: "ADDR", flag: "addr", help: "listen address",
			def: always("127.0.0.1:5000"), value: text(&c.Addr)},
		{name: "DATA_DIR", flag: "data-dir", help: "where the embedded database and generated secrets live",
			def: always("./data"), value: text(&c.DataDir)},
		{name: "DATABASE_URL", flag: "database-url",
			help:  "`sqlite:///relative/path.db`, `sqlite:////absolute/path.db` or `postgres://user:pass@host:5432/db`",
			unset: "`DATA_DIR/widgetapi-APP_ENV.db`", value: value{
				parse: func(_, v string) error {
					if v == "" {
						v = "sqlite:///" + filepath.ToSlash(filepath.Join(c.DataDir, "widgetapi-"+c.Env+".db"))
					}
					if _, _, err := ParseDatabaseURL(v); err != nil {
						return err
					}
					c.DatabaseURL = v
					return nil
				},
				show: func() any { return DescribeDatabase(c.DatabaseURL) },
			}},
		{name: "SECRET_KEY",
			help:  "JWT signing key, at least 32 bytes; several comma-separated keys rotate (the first signs, all verify)",
			unset: "required in production; otherwise generated once into `DATA_DIR/secret_key`",
			value: value{parse: c.parseSecretKeys, show: func() any { return c.SecretSource }}},
		{name: "TOKEN_TTL", help: "token lifetime",
			def: byEnv("1h", "15m", "5s"), value: duration(&c.TokenTTL, true).then(func(name, v string) error {
				if c.TokenTTL > auth.MaxTTL {
					return fmt.Errorf("%s: %q is longer than the longest token lifetime, %s", name, v, auth.MaxTTL)
				}
				return nil
			})},
		{name: "TOKEN_LEEWAY", help: "clock skew tolerated between processes for a token's `iat`; `exp` has no grace",
			def: always("5s"), value: duration(&c.TokenLeeway, false)},
		{name: "TOKEN_ISSUER", help: "`iss` and `aud` of tokens, checked on every request",
			def: always("widgetapi"), value: text(&c.TokenIssuer).then(func(string, string) error {
				c.TokenAudience = c.TokenIssuer
				return nil
			})},
		{name: "TOKEN_ALG", help: "`HS256` (signed with `SECRET_KEY`), `EdDSA` or `ES256` (signed with keys kept in the database, their public keys at `/.well-known/jwks.json`)",
			def: always("HS256"), value: text(&c.TokenAlg).then(func(name, v string) error {
				switch v {
				case "HS256", "EdDSA", "ES256":
					return nil
				}
				return fmt.Errorf("%s: %q is not one of HS256, EdDSA, ES256", name, v)
			})},
		{name: "KEY_PUBLISH_AHEAD", help: "how long `widgetapi keys rotate` publishes a new key before it signs; longer than any verifier caches the JWKS",
			def: always("10m"), value: duration(&c.KeyPublishAhead, false)},
		{name: "INTROSPECTION_CLIENTS",
			help:  "comma-separated `id:secret` pairs of the clients that may call `POST /api/v1/auth/introspect` with HTTP Basic; secrets at least 16 bytes",
			unset: "none (introspection answers 404)", value: value{parse: c.parseClients, show: c.clientIDs}},
		{name: "BCRYPT_COST", help: "bcrypt cost, 4 to 31",
			def: byEnv("12", "4", "4"), value: integer(&c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)},
		{name: "TZ", help: "time zone of localized strings and of the deadline's day",
			unset: "the machine's", value: value{
				parse: func(name, v string) error {
					if v == "" {
						c.Location = time.Local
						return nil
					}
					// A leading colon is the POSIX form of a zone name.
					loc, err := time.LoadLocation(strings.TrimPrefix(v, ":"))
					if err != nil {
						return fmt.Errorf("%s: %q is not a known time zone", name, v)
					}
					c.Location = loc
					return nil
				},
				show: func() any { return c.Location.String() },
			}},
		{name: "CORS_ORIGINS", help: "comma-separated allowed origins, or `*`",
			def: always("*"), value: value{
				parse: func(_, v string) error { c.CORSOrigins = splitList(v); return nil },
				show:  func() any { return c.CORSOrigins },
			}},
		{name: "LOG_LEVEL", flag: "log-level", help: "`debug`, `info`, `warn` or `error`",
			def: always("info"), value: value{
				parse: func(name, v string) error {
					if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
						return fmt.Errorf("%s: %q is not one of debug, info, warn, error", name, v)
					}
					return nil
				},
				show: func() any { return c.LogLevel.String() },
			}},
		{name: "LOG_FORMAT", flag: "log-format", help: "`json` or `text`",
			unset: "`text` on a terminal, else `json`", value: text(&c.LogFormat).then(func(name, v string) error {
				if v != "" && v != "json" && v != "text" {
					return fmt.Errorf("%s: %q is not json or text", name, v)
				}
				return nil
			})},
		{name: "AUTH_REALM", help: "`WWW-Authenticate` realm of user routes",
			def: always("registered_users@widgetapi"), value: text(&c.Realm).then(checkRealm)},
		{name: "ADMIN_REALM", help: "`WWW-Authenticate` realm of admin routes",
			def: always("admin_users@widgetapi"), value: text(&c.AdminRealm).then(checkRealm)},
		{name: "TRUSTED_PROXIES",
			help:  "comma-separated addresses or CIDRs of proxies whose `X-Forwarded-For`, `-Proto` and `-Host` are believed",
			unset: "none", value: value{parse: c.parseTrustedProxies, show: func() any { return c.TrustedProxies }}},
		{name: "SHUTDOWN_TIMEOUT", help: "how long SIGTERM waits for in-flight requests",
			def: always("15s"), value: duration(&c.ShutdownTimeout, true)},
		{name: "DB_MAX_CONNS", help: "PostgreSQL connections per process, 1 to 1000",
			def: always("10"), value: integer(&c.DBMaxConns, 1, 1000)},
		{name: "DB_TIMEOUT", help: "PostgreSQL connect and statement timeout",
			def: always("5s"), value: duration(&c.DBTimeout, true)},
		// Test suites make hundreds of accounts from one address; the
		// per-account limit stays on.
		{name: "AUTH_RATE_LIMIT",
			help: "register and login requests a minute from one client address (`0` disables); requests with a valid token are never limited by address",
			def:  byEnv("1200", "1200", "0"), value: integer(&c.AuthPerMinute, 0, 1_000_000)},
		{name: "AUTH_RATE_BURST", help: "register and login requests from one client address allowed at once beyond `AUTH_RATE_LIMIT`",
			def: always("100"), value: integer(&c.AuthBurst, 0, 1_000_000)},
		{name: "LOGIN_FAILURE_LIMIT", help: "failed logins a minute for one account from one address, also the burst (`0` disables)",
			def: always("5"), value: integer(&c.LoginFailuresPerMinute, 0, 1_000_000)},
		{name: "LOGIN_ACCOUNT_LIMIT",
			help: "failed logins an hour for one account across all addresses, also the burst; an address that logged in to the account in the last 30 days is not held to it (`0` disables)",
			def:  always("100"), value: integer(&c.AccountFailuresPerHour, 0, 1_000_000)},
		{name: "AUDIT_RETENTION", help: "how long audit events are kept before the background purge deletes them",
			def: always("2160h"), value: duration(&c.AuditRetention, true)},
		{name: "PPROF_ADDR",
			help:  "serve Go's runtime profiles (`/debug/pprof/`) on this separate address, e.g. `127.0.0.1:6060`; it must name a host",
			unset: "off", value: text(&c.PprofAddr).then(checkPprofAddr)},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT",
			help:  "turns tracing on: the OTLP/HTTP base URL of an OpenTelemetry collector, e.g. `http://127.0.0.1:4318`; spans go to its `/v1/traces`",
			unset: "off", value: value{
				parse: func(name, v string) error {
					if err := checkOTLPEndpoint(name, v); err != nil {
						return err
					}
					c.OTLPEndpoint = v
					return nil
				},
				show: func() any { return redactURL(c.OTLPEndpoint) },
			}},
		{name: "OTEL_SERVICE_NAME", help: "`service.name` of the traces",
			def: always("widgetapi"), value: text(&c.ServiceName)},
		{name: "SMTP_URL",
			help:  "mail server: `smtp://[user:pass@]host:port` (STARTTLS when offered; `?starttls=required` to insist) or `smtps://…` (implicit TLS)",
			unset: "mail is written as `.eml` files into `DATA_DIR/mail/`; in production the mail routes answer 503",
			value: value{parse: c.parseSMTP, show: func() any {
				if c.SMTP == nil {
					return ""
				}
				return fmt.Sprintf("%s:%d", c.SMTP.Host, c.SMTP.Port)
			}}},
		{name: "MAIL_FROM", help: "the sender of mail",
			def: always("widgetapi <no-reply@localhost>"), value: value{parse: c.parseMailFrom, show: func() any { return c.MailFrom.String() }}},
		{name: "MAIL_RETRY_FOR", help: "how long a mail the server did not take for a passing reason is tried again before it is marked failed",
			def: always("24h"), value: duration(&c.MailRetryFor, true)},
		{name: "PUBLIC_URL", help: "the base URL links in mail start with, e.g. `https://api.example.com`",
			unset: "required in production with `SMTP_URL`; otherwise `http://` + `ADDR`",
			value: parseBaseURL(&c.PublicURL).then(c.checkPublicURL)},
		{name: "ACCOUNT_PAGES_URL", help: "replaces `PUBLIC_URL/account` in the links of mail, for a front end of your own",
			unset: "the service's own account pages", value: parseBaseURL(&c.AccountPagesURL)},
		{name: "VERIFY_TOKEN_TTL", help: "how long an email verification link works",
			def: always("24h"), value: duration(&c.VerifyTokenTTL, true)},
		{name: "RESET_TOKEN_TTL", help: "how long a password reset or email change link works",
			def: always("30m"), value: duration(&c.ResetTokenTTL, true)},
		{name: "REQUIRE_VERIFIED_EMAIL", help: "refuse unverified accounts' tokens (403) but on the routes that manage the account",
			def: always("false"), value: boolean(&c.RequireVerifiedEmail)},
		{name: "REQUIRE_ADMIN_MFA", help: "refuse administrators' tokens without a second factor (403) on admin routes",
			def: always("false"), value: boolean(&c.RequireAdminMFA)},
	}
}

// Load reads and checks the configuration from getenv. It does not touch
// the disk, and a missing key is only an error for commands that sign
// tokens (see ResolveSecret).
func Load(getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range table(&c) {
		v := getenv(s.name)
		if v == "" && s.def != nil {
			v = s.def(c.Env)
		}
		if err := s.parse(s.name, v); err != nil {
			return c, err
		}
	}
	return c, nil
}

// LogAttrs returns the effective configuration as key-value pairs for a log
// line, each variable's name in lower case: SECRET_KEY as where the keys
// came from, DATABASE_URL without credentials.
func (c *Config) LogAttrs() []any {
	var attrs []any
	for _, s := range table(c) {
		attrs = append(attrs, strings.ToLower(s.name), s.show())
	}
	return attrs
}

func text(p *string) value {
	return value{
		parse: func(_, v string) error { *p = v; return nil },
		show:  func() any { return *p },
	}
}

func integer(p *int, lo, hi int) value {
	return value{
		parse: func(name, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("%s: %q is not an integer from %d to %d", name, v, lo, hi)
			}
			*p = n
			return nil
		},
		show: func() any { return *p },
	}
}

// duration parses a Go duration, or a plain number of seconds as a shell
// user would expect; it is never negative, and never zero when positive.
func duration(p *time.Duration, positive bool) value {
	return value{
		parse: func(name, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				n, nerr := strconv.Atoi(v)
				if nerr != nil {
					return fmt.Errorf("%s: %q is not a duration such as 90s, 15m or 1h", name, v)
				}
				d = time.Duration(n) * time.Second
			}
			if d < 0 {
				return fmt.Errorf("%s: %q must not be negative", name, v)
			}
			if positive && d == 0 {
				return fmt.Errorf("%s: %q must be positive", name, v)
			}
			*p = d
			return nil
		},
		show: func() any { return p.String() },
	}
}

func (c *Config) parseSecretKeys(name, v string) error {
	if v == "" {
		return nil
	}
	for i, k := range strings.Split(v, ",") {
		// "new, old" means the keys "new" and "old": a key that kept the
		// space would log everyone out.
		k = strings.Trim(k, " \t\r\n")
		if k == "" {
			return fmt.Errorf("%s: key %d is empty; separate keys with single commas", name, i+1)
		}
		if len(k) < auth.MinKeyLength {
			return fmt.Errorf("%s: key %d is %d bytes; at least %d are required (generate one with: openssl rand -hex 32)", name, i+1, len(k), auth.MinKeyLength)
		}
		c.SecretKeys = append(c.SecretKeys, []byte(k))
	}
	c.SecretSource = name
	return nil
}

func (c *Config) parseTrustedProxies(name, v string) error {
	for _, cidr := range splitList(v) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return fmt.Errorf("%s: %q is not an address or CIDR", name, cidr)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

func checkRealm(name, realm string) error {
	if !printableASCII(realm) || strings.ContainsAny(realm, `"\`) {
		return fmt.Errorf("%s: %q must be printable ASCII without quotes or backslashes", name, realm)
	}
	return nil
}

// checkPprofAddr keeps profiles, which show the program's internals and
// cost CPU to take, on an address the operator chose, never on every
// interface.
func checkPprofAddr(name, addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || port == "" || host == "" || (ip != nil && ip.IsUnspecified()) {
		return fmt.Errorf("%s: %q must be host:port with a host, e.g. 127.0.0.1:6060", name, addr)
	}
	return nil
}

// checkOTLPEndpoint accepts what the OpenTelemetry exporters do: an http
// or https URL with a host, and no query or fragment.
func checkOTLPEndpoint(name, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s: %q must be an http or https URL with a host and no query, e.g. http://127.0.0.1:4318", name, v)
	}
	return nil
}

// redactURL hides the password a URL may carry, for the log.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return v
	}
	return u.Redacted()
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}
