package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"widgetapi/auth"
	"widgetapi/httpapi"
	"widgetapi/postgres"
)

// The environments and their defaults.
const (
	envDevelopment = "development"
	envTesting     = "testing"
	envProduction  = "production"
)

// config is the effective configuration of one process.
type config struct {
	Env             string
	Addr            string
	DataDir         string
	DatabaseURL     string
	SecretKeys      [][]byte
	secretSource    string
	TokenTTL        time.Duration
	TokenLeeway     time.Duration
	TokenIssuer     string
	TokenAudience   string
	BcryptCost      int
	Location        *time.Location
	CORSOrigins     []string
	LogLevel        slog.Level
	LogFormat       string
	Realm           string
	AdminRealm      string
	TrustedProxies  []netip.Prefix
	ShutdownTimeout time.Duration
	DBMaxConns      int
	DBTimeout       time.Duration
	// AuthPerMinute limits credential requests (register, login) per
	// client address, with a burst of AuthBurst; LoginFailuresPerMinute limits failed logins per account
	// and address. 0 disables a limit.
	AuthPerMinute          int
	AuthBurst              int
	LoginFailuresPerMinute int
	// PprofAddr, when set, serves Go's profiles on a listener of its own,
	// never on the API's.
	PprofAddr string
}

// envHelp documents every variable the binary reads, for --help.
const envHelp = `Environment (also read from a .env file in the working directory; real
environment variables win):
  APP_ENV           development, testing or production (default development)
  ADDR              listen address (default 127.0.0.1:5000)
  DATA_DIR          where the embedded database and generated secrets live (default ./data)
  DATABASE_URL      sqlite:///relative/path.db, sqlite:////absolute/path.db or
                    postgres://user@host:5432/db (default: DATA_DIR/widgetapi-APP_ENV.db)
  SECRET_KEY        JWT signing key, at least 32 bytes; several keys separated by commas
                    rotate them (the first signs, all verify). Required in production;
                    generated once into DATA_DIR/secret_key otherwise
  TOKEN_TTL         token lifetime (default 1h production, 15m development, 5s testing)
  TOKEN_LEEWAY      clock skew tolerated between processes for a token's iat (default 5s);
                    a token is refused from the moment its exp passes, with no grace
  TOKEN_ISSUER      iss and aud of tokens (default widgetapi)
  BCRYPT_COST       bcrypt cost 4..31 (default 12 production, 4 development/testing)
  TZ                time zone of localized strings and deadline days (default: the machine's)
  CORS_ORIGINS      comma-separated allowed origins, or * (default *)
  LOG_LEVEL         debug, info, warn or error (default info)
  LOG_FORMAT        json or text (default text on a terminal, json otherwise)
  AUTH_REALM        WWW-Authenticate realm of user routes (default registered_users@widgetapi)
  ADMIN_REALM       WWW-Authenticate realm of admin routes (default admin_users@widgetapi)
  TRUSTED_PROXIES   comma-separated CIDRs whose X-Forwarded-Proto/Host are believed (default none)
  SHUTDOWN_TIMEOUT  how long SIGTERM waits for in-flight requests (default 15s)
  DB_MAX_CONNS      PostgreSQL pool size (default 10)
  DB_TIMEOUT        PostgreSQL statement and connect timeout (default 5s)
  AUTH_RATE_LIMIT   register and login requests a minute from one client address, bursts
                    of up to AUTH_RATE_BURST (default 1200 and 100, off in testing; 0 disables)
  LOGIN_FAILURE_LIMIT
                    failed logins a minute for one account from one address, also the
                    burst (default 5; 0 disables)
  PPROF_ADDR        serve Go's runtime profiles (/debug/pprof/) on this separate address,
                    e.g. 127.0.0.1:6060; it must name a host (default: off)
`

// loadConfig reads and checks the configuration from getenv. It does not
// touch the disk, and a missing key is only an error for commands that sign
// tokens (see resolveSecret).
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Env:             or(getenv("APP_ENV"), envDevelopment),
		Addr:            or(getenv("ADDR"), "127.0.0.1:5000"),
		DataDir:         or(getenv("DATA_DIR"), "./data"),
		DatabaseURL:     getenv("DATABASE_URL"),
		TokenIssuer:     or(getenv("TOKEN_ISSUER"), "widgetapi"),
		Realm:           or(getenv("AUTH_REALM"), "registered_users@widgetapi"),
		AdminRealm:      or(getenv("ADMIN_REALM"), "admin_users@widgetapi"),
		LogFormat:       getenv("LOG_FORMAT"),
		ShutdownTimeout: 15 * time.Second,
		TokenLeeway:     5 * time.Second,
		DBMaxConns:      10,
		DBTimeout:       5 * time.Second,

		AuthPerMinute:          httpapi.DefaultAuthPerMinute,
		AuthBurst:              httpapi.DefaultAuthBurst,
		LoginFailuresPerMinute: httpapi.DefaultLoginFailuresPerMinute,
	}
	c.TokenAudience = c.TokenIssuer
	switch c.Env {
	case envProduction:
		c.TokenTTL, c.BcryptCost = time.Hour, 12
	case envDevelopment:
		c.TokenTTL, c.BcryptCost = 15*time.Minute, 4
	case envTesting:
		// Test suites make hundreds of accounts from one address; the
		// per-account limits stay on.
		c.TokenTTL, c.BcryptCost, c.AuthPerMinute = 5*time.Second, 4, 0
	default:
		return c, fmt.Errorf("APP_ENV: %q is not one of development, testing, production", c.Env)
	}
	var err error
	if c.TokenTTL, err = duration(getenv, "TOKEN_TTL", c.TokenTTL); err != nil {
		return c, err
	}
	if c.TokenLeeway, err = duration(getenv, "TOKEN_LEEWAY", c.TokenLeeway); err != nil {
		return c, err
	}
	if c.ShutdownTimeout, err = duration(getenv, "SHUTDOWN_TIMEOUT", c.ShutdownTimeout); err != nil {
		return c, err
	}
	if c.DBTimeout, err = duration(getenv, "DB_TIMEOUT", c.DBTimeout); err != nil {
		return c, err
	}
	if v := getenv("BCRYPT_COST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < bcrypt.MinCost || n > bcrypt.MaxCost {
			return c, fmt.Errorf("BCRYPT_COST: %q is not an integer from %d to %d", v, bcrypt.MinCost, bcrypt.MaxCost)
		}
		c.BcryptCost = n
	}
	if v := getenv("DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return c, fmt.Errorf("DB_MAX_CONNS: %q is not an integer from 1 to 1000", v)
		}
		c.DBMaxConns = n
	}
	for name, p := range map[string]*int{
		"AUTH_RATE_LIMIT": &c.AuthPerMinute, "AUTH_RATE_BURST": &c.AuthBurst, "LOGIN_FAILURE_LIMIT": &c.LoginFailuresPerMinute,
	} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000 {
				return c, fmt.Errorf("%s: %q is not an integer from 0 to 1000000", name, v)
			}
			*p = n
		}
	}
	c.Location = time.Local
	if tz := getenv("TZ"); tz != "" {
		// A leading colon is the POSIX form of a zone name.
		if c.Location, err = time.LoadLocation(strings.TrimPrefix(tz, ":")); err != nil {
			return c, fmt.Errorf("TZ: %q is not a known time zone", tz)
		}
	}
	c.CORSOrigins = splitList(or(getenv("CORS_ORIGINS"), "*"))
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", getenv("LOG_LEVEL"))
	}
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		return c, fmt.Errorf("LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	for _, cidr := range splitList(getenv("TRUSTED_PROXIES")) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return c, fmt.Errorf("TRUSTED_PROXIES: %q is not an address or CIDR", cidr)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if c.PprofAddr = getenv("PPROF_ADDR"); c.PprofAddr != "" {
		// Profiles show the program's internals and cost CPU to take: they
		// belong on an address the operator chose, never on every interface.
		host, port, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || port == "" || host == "" || (ip != nil && ip.IsUnspecified()) {
			return c, fmt.Errorf("PPROF_ADDR: %q must be host:port with a host, e.g. 127.0.0.1:6060", c.PprofAddr)
		}
	}
	for name, realm := range map[string]string{"AUTH_REALM": c.Realm, "ADMIN_REALM": c.AdminRealm} {
		if !printableASCII(realm) || strings.ContainsAny(realm, `"\`) {
			return c, fmt.Errorf("%s: %q must be printable ASCII without quotes or backslashes", name, realm)
		}
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:///" + filepath.ToSlash(filepath.Join(c.DataDir, "widgetapi-"+c.Env+".db"))
	}
	if _, _, err := parseDatabaseURL(c.DatabaseURL); err != nil {
		return c, err
	}
	if v := getenv("SECRET_KEY"); v != "" {
		for i, k := range strings.Split(v, ",") {
			// "new, old" means the keys "new" and "old": a key that kept
			// the space would log everyone out.
			k = strings.Trim(k, " \t\r\n")
			if k == "" {
				return c, fmt.Errorf("SECRET_KEY: key %d is empty; separate keys with single commas", i+1)
			}
			if len(k) < auth.MinKeyLength {
				return c, fmt.Errorf("SECRET_KEY: key %d is %d bytes; at least %d are required (generate one with: openssl rand -hex 32)", i+1, len(k), auth.MinKeyLength)
			}
			c.SecretKeys = append(c.SecretKeys, []byte(k))
		}
		c.secretSource = "SECRET_KEY"
	}
	return c, nil
}

// resolveSecret makes sure there is a signing key. Production must be given
// one; development and testing generate one once and keep it in DATA_DIR, so
// that tokens survive restarts without any set-up.
func (c *config) resolveSecret() error {
	if len(c.SecretKeys) > 0 {
		return nil
	}
	if c.Env == envProduction {
		return errors.New("SECRET_KEY: required in production, at least 32 bytes (generate one with: openssl rand -hex 32)")
	}
	path := filepath.Join(c.DataDir, "secret_key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = createSecret(c.DataDir, path); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("DATA_DIR: read %s: %w", path, err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < auth.MinKeyLength {
		return fmt.Errorf("DATA_DIR: %s holds a key shorter than %d bytes; delete it to generate a new one", path, auth.MinKeyLength)
	}
	c.SecretKeys = [][]byte{[]byte(key)}
	c.secretSource = path
	return nil
}

// createSecret writes a new random key to path, unless another process that
// started at the same moment wrote one first, and returns the key at path.
// The key is written in full to a file of its own, then linked into place:
// a link never replaces an existing file, and path only ever names a
// complete key, so no process reads one half-written.
func createSecret(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: create %s: %w", dir, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	key := []byte(hex.EncodeToString(raw[:]))
	tmp, err := os.CreateTemp(dir, ".secret_key-*")
	if err != nil {
		return nil, fmt.Errorf("DATA_DIR: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600.
	_, err = tmp.Write(key)
	if err := errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("DATA_DIR: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		// Another process made it first; use theirs, which is complete.
		key, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("DATA_DIR: read %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("DATA_DIR: write %s: %w", path, err)
	}
	return key, syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("DATA_DIR: sync %s: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}

// parseDatabaseURL returns the engine ("sqlite" or "postgres") and, for
// SQLite, the file path. Like SQLAlchemy, sqlite:///x.db is relative and
// sqlite:////x.db absolute.
func parseDatabaseURL(u string) (engine, path string, err error) {
	switch {
	case strings.HasPrefix(u, "sqlite:///"):
		path = strings.TrimPrefix(u, "sqlite:///")
		if path == "" || strings.ContainsAny(path, "?#") {
			return "", "", fmt.Errorf("DATABASE_URL: %q needs a file path, e.g. sqlite:///data/widgetapi.db", u)
		}
		return "sqlite", path, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "postgres", "", postgres.CheckURL(u)
	}
	// The rest of the URL may hold a password; name only its scheme.
	scheme, _, _ := strings.Cut(u, ":")
	return "", "", fmt.Errorf("DATABASE_URL: %q must start with sqlite:/// or postgres://", truncate(scheme, 20)+":…")
}

// describeDatabase names the database of a DATABASE_URL for logs and
// messages, with no credentials: however a password is written (in the
// user info, with an unescaped @, or as a query parameter), only the parts
// that name the server and database are shown.
func describeDatabase(u string) string {
	engine, path, err := parseDatabaseURL(u)
	switch {
	case err != nil:
		return "(unrecognized DATABASE_URL)"
	case engine == "sqlite":
		return "sqlite:///" + path
	}
	return postgres.Describe(u)
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// Plain numbers are seconds, as a shell user would expect.
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("%s: %q is not a duration such as 90s, 15m or 1h", name, v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: %q must not be negative", name, v)
	}
	if (name == "TOKEN_TTL" || name == "SHUTDOWN_TIMEOUT" || name == "DB_TIMEOUT") && d == 0 {
		return 0, fmt.Errorf("%s: %q must be positive", name, v)
	}
	if name == "TOKEN_TTL" && d > auth.MaxTTL {
		return 0, fmt.Errorf("%s: %q is longer than the longest token lifetime, %s", name, v, auth.MaxTTL)
	}
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
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
