package config

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSecretKeyRotationList(t *testing.T) {
	k1, k2 := strings.Repeat("a", 32), strings.Repeat("b", 40)
	c, err := Load(envOf(map[string]string{"APP_ENV": "production", "SECRET_KEY": k1 + "," + k2}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SecretKeys) != 2 || string(c.SecretKeys[0]) != k1 || string(c.SecretKeys[1]) != k2 {
		t.Fatalf("keys = %q", c.SecretKeys)
	}
	if err := c.ResolveSecret(); err != nil {
		t.Fatalf("production with keys: %v", err)
	}
	_, err = Load(envOf(map[string]string{"SECRET_KEY": k1 + ",short"}))
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY: key 2") {
		t.Fatalf("short second key: %v", err)
	}
	// A space after the comma is a separator, not part of the old key:
	// keeping it would refuse every token the old key signed.
	for _, v := range []string{k1 + ", " + k2, " " + k1 + " ,\t" + k2 + "\n"} {
		c, err := Load(envOf(map[string]string{"SECRET_KEY": v}))
		if err != nil || len(c.SecretKeys) != 2 || string(c.SecretKeys[0]) != k1 || string(c.SecretKeys[1]) != k2 {
			t.Fatalf("SECRET_KEY=%q: keys %q, %v", v, c.SecretKeys, err)
		}
	}
	for _, v := range []string{k1 + ",", k1 + ",,", k1 + ", ", "," + k1} {
		if _, err := Load(envOf(map[string]string{"SECRET_KEY": v})); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Fatalf("SECRET_KEY=%q: %v, want an empty key refused", v, err)
		}
	}
}

// Every way of writing a PostgreSQL password stays out of what is logged.
func TestDatabaseDescriptionHidesPasswords(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://alice:s3cr3t@db.example:5433/app", "postgres://alice@db.example:5433/app"},
		{"postgres://alice:s3%40cr3t@db.example/app?sslmode=disable", "postgres://alice@db.example:5432/app"},
		{"postgres://db.example/app?password=s3cr3t", ""}, // the user defaults to the OS user's name
		{"postgresql://db.example/app?user=alice&password=s3cr3t", "postgres://alice@db.example:5432/app"},
		{"postgres://alice:s3cr3t@db.example/app?sslpassword=s3cr3t&sslmode=disable", "postgres://alice@db.example:5432/app"},
		{"postgres://alice:s3cr3t@[::1/app", "(unrecognized DATABASE_URL)"},
		{"postgres://alice:s3@cr3t@db.example/app", "(unrecognized DATABASE_URL)"},
		{"mysql://alice:s3cr3t@db.example/app", "(unrecognized DATABASE_URL)"},
		{"sqlite:///data/x.db", "sqlite:///data/x.db"},
	} {
		got := DescribeDatabase(tc.url)
		if strings.Contains(got, "s3") || strings.Contains(got, "cr3t") || (tc.want != "" && got != tc.want) {
			t.Errorf("DescribeDatabase(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
	// Refused at start, without quoting the URL: pgx would read these with
	// the password's tail as the host or database.
	for _, u := range []string{"mysql://alice:s3cr3t@db.example/app", "mysql:alice:s3cr3t@x",
		"postgres://alice:s3@cr3t@db.example/app", "postgres://alice:s3/cr3t@db.example/app",
		"postgres://alice:s3cr3t@[::1/app", "postgresql://alice@db.example/s3@cr3t"} {
		if _, _, err := ParseDatabaseURL(u); err == nil || strings.Contains(err.Error(), "s3") || strings.Contains(err.Error(), "cr3t") {
			t.Errorf("ParseDatabaseURL(%q): %v", u, err)
		}
	}
}

func TestTokenTTLIsBounded(t *testing.T) {
	if _, err := Load(envOf(map[string]string{"TOKEN_TTL": "8761h"})); err == nil || !strings.Contains(err.Error(), "TOKEN_TTL") {
		t.Fatalf("a TTL beyond a year: %v", err)
	}
	if c, err := Load(envOf(map[string]string{"TOKEN_TTL": "8760h"})); err != nil || c.TokenTTL != 8760*time.Hour {
		t.Fatalf("a TTL of a year: %v", err)
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	for _, tc := range []struct {
		env     string
		ttl     time.Duration
		cost    int
		perAddr int
	}{{"production", time.Hour, 12, 1200}, {"development", 15 * time.Minute, 4, 1200}, {"testing", 5 * time.Second, 4, 0}} {
		c, err := Load(envOf(map[string]string{"APP_ENV": tc.env}))
		// The per-address limit is off for test suites; per account it stays on.
		if err != nil || c.TokenTTL != tc.ttl || c.BcryptCost != tc.cost || c.Addr != "127.0.0.1:5000" ||
			c.AuthPerMinute != tc.perAddr || c.LoginFailuresPerMinute != 5 ||
			c.DatabaseURL != "sqlite:///data/widgetapi-"+tc.env+".db" || c.OTLPEndpoint != "" || c.ServiceName != "widgetapi" {
			t.Errorf("%s: %+v, %v", tc.env, c, err)
		}
	}
}

// Many processes (here goroutines, which go through the same file system
// calls) generating the key at once end up with one complete key.
func TestGeneratedSecretKeyIsOneForAll(t *testing.T) {
	dir := t.TempDir()
	keys := make([]string, 32)
	errs := make([]error, 32)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Load(envOf(map[string]string{"DATA_DIR": dir}))
			if err == nil {
				err = c.ResolveSecret()
			}
			if err == nil {
				keys[i] = string(c.SecretKeys[0])
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || len(keys[i]) != 64 || keys[i] != keys[0] {
			t.Fatalf("process %d: key %q, %v; want the one 64-digit key", i, keys[i], errs[i])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "secret_key" {
		t.Fatalf("DATA_DIR holds %v; want secret_key alone", entries)
	}
	if fi, _ := entries[0].Info(); fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret_key mode %o", fi.Mode().Perm())
	}
}

// Each invalid value is refused with an error that names its variable.
func TestInvalidValuesNameTheirVariable(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"APP_ENV", "staging", "APP_ENV: \"staging\" is not one of"},
		{"DATABASE_URL", "mysql://x", "DATABASE_URL: "},
		{"DATABASE_URL", "sqlite:///", "DATABASE_URL: "},
		{"SECRET_KEY", "too-short", "SECRET_KEY: key 1 is 9 bytes"},
		{"TOKEN_TTL", "soon", "TOKEN_TTL: \"soon\" is not a duration"},
		{"TOKEN_TTL", "0", "TOKEN_TTL: \"0\" must be positive"},
		{"TOKEN_LEEWAY", "-1s", "TOKEN_LEEWAY: \"-1s\" must not be negative"},
		{"BCRYPT_COST", "99", "BCRYPT_COST: \"99\" is not an integer from 4 to 31"},
		{"TZ", "Mars/Olympus", "TZ: \"Mars/Olympus\" is not a known time zone"},
		{"LOG_LEVEL", "loud", "LOG_LEVEL: \"loud\" is not one of"},
		{"LOG_FORMAT", "xml", "LOG_FORMAT: \"xml\" is not json or text"},
		{"AUTH_REALM", `a"b`, "AUTH_REALM: "},
		{"ADMIN_REALM", "caf\u00e9", "ADMIN_REALM: "},
		{"TRUSTED_PROXIES", "10.0.0.0/8,not-a-cidr", "TRUSTED_PROXIES: \"not-a-cidr\""},
		{"SHUTDOWN_TIMEOUT", "0s", "SHUTDOWN_TIMEOUT: \"0s\" must be positive"},
		{"DB_MAX_CONNS", "0", "DB_MAX_CONNS: \"0\" is not an integer from 1 to 1000"},
		{"DB_TIMEOUT", "0", "DB_TIMEOUT: \"0\" must be positive"},
		{"AUTH_RATE_LIMIT", "-1", "AUTH_RATE_LIMIT: \"-1\" is not an integer from 0 to 1000000"},
		{"AUTH_RATE_BURST", "many", "AUTH_RATE_BURST: "},
		{"LOGIN_FAILURE_LIMIT", "1000001", "LOGIN_FAILURE_LIMIT: "},
		{"PPROF_ADDR", "0.0.0.0:6060", "PPROF_ADDR: "},
		{"PPROF_ADDR", ":6060", "PPROF_ADDR: "},
		{"PPROF_ADDR", "127.0.0.1", "PPROF_ADDR: "},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", "OTEL_EXPORTER_OTLP_ENDPOINT: "},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://collector:4317", "OTEL_EXPORTER_OTLP_ENDPOINT: "},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://", "OTEL_EXPORTER_OTLP_ENDPOINT: "},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/?x=1", "OTEL_EXPORTER_OTLP_ENDPOINT: "},
	} {
		if _, err := Load(envOf(map[string]string{tc.name: tc.value})); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v; want an error starting %q", tc.name, tc.value, err, tc.want)
		}
	}
	// Valid values of the same variables.
	c, err := Load(envOf(map[string]string{"TOKEN_LEEWAY": "0", "SHUTDOWN_TIMEOUT": "30", "TZ": ":Europe/Paris",
		"TRUSTED_PROXIES": "10.1.2.3/8, 192.0.2.1", "PPROF_ADDR": "localhost:6060", "AUTH_RATE_LIMIT": "0",
		"CORS_ORIGINS": "https://a.example, https://b.example", "TOKEN_ISSUER": "issuer", "LOG_LEVEL": "debug",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example/otlp", "OTEL_SERVICE_NAME": "widgets-eu"}))
	if err != nil || c.TokenLeeway != 0 || c.ShutdownTimeout != 30*time.Second || c.Location.String() != "Europe/Paris" ||
		fmt.Sprint(c.TrustedProxies) != "[10.0.0.0/8 192.0.2.1/32]" || c.PprofAddr != "localhost:6060" || c.AuthPerMinute != 0 ||
		len(c.CORSOrigins) != 2 || c.TokenIssuer != "issuer" || c.TokenAudience != "issuer" || c.LogLevel.String() != "DEBUG" ||
		c.OTLPEndpoint != "https://collector.example/otlp" || c.ServiceName != "widgets-eu" {
		t.Fatalf("%+v, %v", c, err)
	}
}

func TestFlagsOverrideTheirVariables(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	AddFlags(fs)
	var flags []string
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
	if fmt.Sprint(flags) != "[addr data-dir database-url env log-format log-level]" {
		t.Fatalf("serve's flags: %v", flags)
	}
	if err := fs.Parse([]string{"--addr", "127.0.0.1:0", "--env=testing"}); err != nil {
		t.Fatal(err)
	}
	getenv := WithFlags(fs, envOf(map[string]string{"ADDR": "127.0.0.1:9", "DATA_DIR": "elsewhere"}))
	c, err := Load(getenv)
	if err != nil || c.Addr != "127.0.0.1:0" || c.Env != Testing || c.DataDir != "elsewhere" {
		t.Fatalf("%+v, %v", c, err)
	}

	fs = flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	AddFlags(fs, "ADDR")
	if f := fs.Lookup("addr"); f == nil || !strings.HasSuffix(f.Usage, "(ADDR)") || fs.Lookup("env") != nil {
		t.Fatalf("AddFlags(fs, ADDR) defined the wrong flags")
	}
}

// The starting line shows where the key came from, never a key, and the
// database without its password.
func TestLogAttrsHideSecrets(t *testing.T) {
	key := strings.Repeat("k", 32)
	c, err := Load(envOf(map[string]string{"SECRET_KEY": key, "DATABASE_URL": "postgres://alice:pw-s3cr3t@db.example/app",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel:s3cr3t@collector.example:4318"}))
	if err != nil {
		t.Fatal(err)
	}
	attrs := c.LogAttrs()
	got := fmt.Sprint(attrs...)
	if strings.Contains(got, key) || strings.Contains(got, "s3cr3t") {
		t.Fatalf("a secret is logged: %s", got)
	}
	want := map[string]any{"secret_key": "SECRET_KEY", "database_url": "postgres://alice@db.example:5432/app",
		"token_ttl": "15m0s", "app_env": "development", "bcrypt_cost": 4,
		"otel_exporter_otlp_endpoint": "https://otel:xxxxx@collector.example:4318"}
	if len(attrs) != 2*len(table(new(Config))) {
		t.Fatalf("%d attributes for %d settings", len(attrs), len(table(new(Config))))
	}
	for i := 0; i < len(attrs); i += 2 {
		if w, ok := want[attrs[i].(string)]; ok && attrs[i+1] != w {
			t.Errorf("%s = %v, want %v", attrs[i], attrs[i+1], w)
		}
	}
}

func TestHelpListsEveryVariableAndItsDefault(t *testing.T) {
	help := Help()
	flat := strings.Join(strings.Fields(help), " ")
	for _, s := range table(new(Config)) {
		if !strings.Contains(help, "\n  "+s.name+" ") && !strings.Contains(help, "\n  "+s.name+"\n") {
			t.Errorf("Help does not list %s", s.name)
		}
		if want := "(default: " + plain(s.defaultText()) + ")"; !strings.Contains(flat, want) {
			t.Errorf("Help does not give %s's default %s", s.name, want)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		if len(line) > 80 {
			t.Errorf("line longer than 80 columns: %q", line)
		}
	}
	if !strings.Contains(flat, "TOKEN_TTL token lifetime (default: 1h production, 15m development, 5s testing)") ||
		!strings.Contains(flat, "BCRYPT_COST bcrypt cost, 4 to 31 (default: 12 production, 4 development/testing)") {
		t.Errorf("defaults by environment:\n%s", help)
	}
}

// README.md's configuration table lists exactly the variables of the
// table, each with its help and default.
func TestREADMEConfigurationTable(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]string{}
	var order []string
	inSection := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inSection = line == "## Configuration"
			continue
		}
		cells := strings.Split(line, "|")
		if !inSection || len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		rows[name] = line
		order = append(order, name)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range table(new(Config)) {
		names = append(names, s.name)
		want := "| `" + s.name + "` | " + s.help + " | " + s.defaultText() + " |"
		if got, ok := rows[s.name]; !ok {
			t.Errorf("README.md's configuration table has no row for %s; want\n%s", s.name, want)
		} else if got != want {
			t.Errorf("README.md's row for %s:\n%s\nwant\n%s", s.name, got, want)
		}
		delete(rows, s.name)
	}
	for name := range rows {
		t.Errorf("README.md's configuration table lists %s, which is not a setting", name)
	}
	if fmt.Sprint(order) != fmt.Sprint(names) {
		t.Errorf("README.md lists the variables in the order\n%v\nwant\n%v", order, names)
	}
}

// TOKEN_ALG, KEY_PUBLISH_AHEAD and INTROSPECTION_CLIENTS: their defaults,
// their bad values named, and the clients' secrets never logged.
func TestTokenAlgAndIntrospectionClients(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil || c.TokenAlg != "HS256" || c.KeyPublishAhead != 10*time.Minute || len(c.IntrospectionClients) != 0 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"TOKEN_ALG", "RS256", `TOKEN_ALG: "RS256" is not one of HS256, EdDSA, ES256`},
		{"TOKEN_ALG", "none", "TOKEN_ALG: "},
		{"KEY_PUBLISH_AHEAD", "-1m", "KEY_PUBLISH_AHEAD: "},
		{"INTROSPECTION_CLIENTS", "gateway", "INTROSPECTION_CLIENTS: client 1 is not id:secret"},
		{"INTROSPECTION_CLIENTS", "gateway:short", `INTROSPECTION_CLIENTS: client "gateway"'s secret is 5 bytes`},
		{"INTROSPECTION_CLIENTS", ":secret-0123456789ab", "INTROSPECTION_CLIENTS: client 1 is not id:secret"},
		{"INTROSPECTION_CLIENTS", "a:secret-0123456789ab,a:secret-0123456789cd", `INTROSPECTION_CLIENTS: client "a" is listed twice`},
	} {
		if _, err := Load(envOf(map[string]string{tc.name: tc.value})); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v; want an error starting %q", tc.name, tc.value, err, tc.want)
		}
	}
	c, err = Load(envOf(map[string]string{"TOKEN_ALG": "EdDSA", "KEY_PUBLISH_AHEAD": "0",
		"INTROSPECTION_CLIENTS": "gateway:gw-secret-0123456789, worker:wk:secret-0123456789"}))
	if err != nil || c.TokenAlg != "EdDSA" || c.KeyPublishAhead != 0 || len(c.IntrospectionClients) != 2 ||
		c.IntrospectionClients[1] != (Client{ID: "worker", Secret: "wk:secret-0123456789"}) {
		t.Fatalf("%+v, %v", c, err)
	}
	logged := fmt.Sprint(c.LogAttrs()...)
	if strings.Contains(logged, "secret-0123456789") || !strings.Contains(logged, "[gateway worker]") {
		t.Errorf("the log line: %s", logged)
	}
}

// The mail settings: their defaults in each environment, their bad values
// named, and the SMTP password never logged.
func TestMailSettings(t *testing.T) {
	c, err := Load(envOf(map[string]string{"ADDR": "127.0.0.1:8080"}))
	if err != nil || c.SMTP != nil || !c.MailEnabled() || c.MailDir() != "./data/mail" ||
		c.PublicURL != "http://127.0.0.1:8080" || c.AccountPage("reset-password") != "http://127.0.0.1:8080/account/reset-password" ||
		c.MailFrom.Address != "no-reply@localhost" || c.MailRetryFor != 24*time.Hour ||
		c.VerifyTokenTTL != 24*time.Hour || c.ResetTokenTTL != 30*time.Minute || c.RequireVerifiedEmail || c.RequireAdminMFA {
		t.Fatalf("development defaults: %+v, %v", c, err)
	}
	prod := map[string]string{"APP_ENV": "production", "SECRET_KEY": strings.Repeat("k", 32)}
	if c, err = Load(envOf(prod)); err != nil || c.MailEnabled() || c.MailDir() != "" || c.PublicURL != "" {
		t.Fatalf("production without SMTP_URL: mail must be off: %+v, %v", c, err)
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{with(prod, "SMTP_URL", "smtp://mail.example.com:587"), "PUBLIC_URL is required in production"},
		{with(nil, "SMTP_URL", "http://mail.example.com:25"), `SMTP_URL: "http://mail.example.com:25" has a scheme other than smtp or smtps`},
		{with(nil, "SMTP_URL", "smtp://mail.example.com"), "SMTP_URL: "},
		{with(nil, "SMTP_URL", "smtp://:25"), "SMTP_URL: "},
		{with(nil, "SMTP_URL", "smtp://u:hunter2@mail.example.com:99999"), `SMTP_URL: "smtp://u:xxxxx@mail.example.com:99999" has no port`},
		{with(nil, "SMTP_URL", "smtps://mail.example.com:465?starttls=required"), "SMTP_URL: "},
		{with(nil, "SMTP_URL", "smtp://mail.example.com:25?starttls=maybe"), "SMTP_URL: "},
		{with(nil, "SMTP_URL", "smtp://mail.example.com:25?tls=1"), "SMTP_URL: "},
		{with(nil, "MAIL_FROM", "not an address"), "MAIL_FROM: "},
		{with(nil, "MAIL_RETRY_FOR", "0"), "MAIL_RETRY_FOR: "},
		{with(nil, "PUBLIC_URL", "ftp://example.com"), "PUBLIC_URL: "},
		{with(nil, "PUBLIC_URL", "https://example.com/?a=1"), "PUBLIC_URL: "},
		{with(nil, "ACCOUNT_PAGES_URL", "example.com"), "ACCOUNT_PAGES_URL: "},
		{with(nil, "VERIFY_TOKEN_TTL", "-1h"), "VERIFY_TOKEN_TTL: "},
		{with(nil, "RESET_TOKEN_TTL", "0"), "RESET_TOKEN_TTL: "},
		{with(nil, "REQUIRE_VERIFIED_EMAIL", "yes please"), "REQUIRE_VERIFIED_EMAIL: "},
		{with(nil, "REQUIRE_ADMIN_MFA", "2"), "REQUIRE_ADMIN_MFA: "},
	} {
		if _, err := Load(envOf(tc.env)); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error starting %q", tc.env, err, tc.want)
		}
	}
	c, err = Load(envOf(with(prod, "SMTP_URL", "smtp://mailer:hunter2@mail.example.com:587?starttls=required",
		"PUBLIC_URL", "https://api.example.com/", "ACCOUNT_PAGES_URL", "https://app.example.com/account",
		"MAIL_FROM", "Example <accounts@example.com>", "REQUIRE_VERIFIED_EMAIL", "true")))
	if err != nil || *c.SMTP != (SMTP{Host: "mail.example.com", Port: 587, Username: "mailer", Password: "hunter2", RequireSTARTTLS: true}) ||
		!c.MailEnabled() || c.MailDir() != "" || c.PublicURL != "https://api.example.com" ||
		c.AccountPage("confirm-email") != "https://app.example.com/account/confirm-email" || !c.RequireVerifiedEmail {
		t.Fatalf("%+v, %+v, %v", c, c.SMTP, err)
	}
	if logged := fmt.Sprint(c.LogAttrs()...); strings.Contains(logged, "hunter2") || !strings.Contains(logged, "mail.example.com:587") {
		t.Errorf("the log line: %s", logged)
	}
	if c, err = Load(envOf(with(nil, "SMTP_URL", "smtps://mail.example.com:465"))); err != nil || !c.SMTP.ImplicitTLS {
		t.Fatalf("smtps: %+v, %v", c.SMTP, err)
	}
}
