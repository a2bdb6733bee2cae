// Command loadbench measures widgetapi under load on this machine: it builds
// the binary, starts it on SQLite and PostgreSQL with seeded widgets, loads
// each scenario with vegeta in a closed loop over loopback, alternating with
// a bare net/http handler that returns the same bytes as a widget (the
// ceiling), and prints requests/s, p50, p99, non-2xx and peak RSS per
// scenario with its ratio to the ceiling.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/ncruces/go-sqlite3/driver"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/crypto/bcrypt"
)

const (
	adminEmail    = "admin@bench.local"
	userEmail     = "user@bench.local"
	benchPassword = "bench-password"
	prodCost      = 12
)

type options struct {
	engines  []string
	seeds    []int
	duration time.Duration
	rounds   int
	workers  int
	pgURL    string
	out      string
	// only, when set, keeps the scenarios whose name contains one of these.
	only []string
	// profile, when set, is where CPU profiles of the widget read go.
	profile string
	// loginDuration is the length of a login run: at a few logins a second,
	// a short run would count too few to be precise.
	loginDuration time.Duration
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-ceiling-server" {
		if err := serveCeiling(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		return
	}
	// Interrupting the benchmark also cancels its database work, so that no
	// seeding query is left running in PostgreSQL.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	engines := fs.String("engines", "sqlite", "comma-separated engines: sqlite, postgres")
	seeds := fs.String("seeds", "1000,1000000", "comma-separated numbers of widgets to seed")
	duration := fs.Duration("duration", 5*time.Second, "length of one load run")
	rounds := fs.Int("rounds", 3, "runs of each scenario, each after a run of the ceiling")
	workers := fs.Int("workers", 32, "concurrent connections of the closed-loop load")
	pgURL := fs.String("pg-url", os.Getenv("WIDGETAPI_BENCH_POSTGRES_URL"), "PostgreSQL server URL whose user may create databases")
	smoke := fs.Bool("smoke", false, "a quick check that the benchmark works (SQLite, 100 widgets, 1 s runs, one round); fails on any non-2xx")
	out := fs.String("out", "", "also write the report to this Markdown file")
	profile := fs.String("cpuprofile", "", "save a CPU profile of the server during GET /widgets/{name} to this path, one file per engine and seed (path-ENGINE-SEED.pprof)")
	only := fs.String("scenarios", "", `comma-separated parts of scenario names to run, e.g. "widgets/{name},auth/user" (default: all)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := options{engines: split(*engines), duration: *duration, rounds: *rounds, workers: *workers, pgURL: *pgURL, out: *out, only: split(*only), profile: *profile}
	for _, s := range split(*seeds) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-seeds: %q is not a positive integer", s)
		}
		o.seeds = append(o.seeds, n)
	}
	o.loginDuration = max(o.duration, 15*time.Second)
	if *smoke {
		o.engines, o.seeds, o.duration, o.rounds, o.loginDuration = []string{"sqlite"}, []int{100}, time.Second, 1, time.Second
	}
	for _, e := range o.engines {
		if e == "postgres" && o.pgURL == "" {
			return fmt.Errorf("-engines postgres needs -pg-url or WIDGETAPI_BENCH_POSTGRES_URL")
		}
		if e != "postgres" && e != "sqlite" {
			return fmt.Errorf("-engines: unknown engine %q", e)
		}
	}

	work, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "widgetapi")
	build := exec.Command("go", "build", "-o", bin, "./cmd/widgetapi")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build widgetapi (run loadbench from the repository root): %w", err)
	}

	var report strings.Builder
	fmt.Fprintf(&report, "Machine: %d cores, %s, %s, %s/%s. Load: vegeta, closed loop, %d connections, %s runs, %d round(s), each scenario run right after a ceiling run.\n\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, o.workers, o.duration, o.rounds)
	cmp := bcryptCompareTime()
	fmt.Fprintf(&report, "One bcrypt comparison at cost %d (fastest of 7): %s, so the cores can compare %.1f a second. "+
		"The login rows measure this again right before each run and report their throughput as a multiple of it (target: 0.9).\n\n",
		prodCost, cmp.Round(time.Millisecond), float64(runtime.NumCPU())/cmp.Seconds())
	fmt.Print(report.String())

	for _, engine := range o.engines {
		for _, seed := range o.seeds {
			section, err := benchOne(ctx, work, bin, engine, seed, o)
			if err != nil {
				return fmt.Errorf("%s with %d widgets: %w", engine, seed, err)
			}
			fmt.Print(section)
			report.WriteString(section)
		}
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report.String()), 0o644); err != nil {
			return err
		}
	}
	if *smoke && strings.Contains(report.String(), "non-2xx: yes") {
		return fmt.Errorf("the smoke run got non-2xx responses")
	}
	return nil
}

// result is one scenario's measurement, summed over rounds.
type result struct {
	name          string
	rps, ceiling  float64
	p50, p99      time.Duration
	non2xx, total uint64
	peakRSS       int64
	codes         map[string]int
	// ofBcrypt is, for logins, the throughput as a multiple of what the
	// cores can compare, each round against a measurement made just before it.
	ofBcrypt float64
	// flood describes, per round, the login flood run alongside.
	flood []string
}

// loginWorkers is the connections of the login scenario: four a core, within
// the bcrypt queue of the server (eight a core).
func loginWorkers() int { return 4 * runtime.NumCPU() }

// A flood scenario: 16 connections of logins against 4 of readers.
const (
	floodWorkers  = 16
	readerWorkers = 4
)

func benchOne(ctx context.Context, work, bin, engine string, seed int, o options) (string, error) {
	dir, err := os.MkdirTemp(work, engine+"-")
	if err != nil {
		return "", err
	}
	var dbURL string
	var cleanup func()
	switch engine {
	case "sqlite":
		dbURL = "sqlite:///" + filepath.Join(dir, "bench.db") // absolute: sqlite:////tmp/...
	case "postgres":
		dbURL, cleanup, err = createPostgresDB(o.pgURL)
		if err != nil {
			return "", err
		}
		defer cleanup()
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := append(os.Environ(), "APP_ENV=production", "SECRET_KEY="+hex.EncodeToString(secret),
		fmt.Sprintf("BCRYPT_COST=%d", prodCost), "TOKEN_TTL=1h", "DATA_DIR="+dir, "DATABASE_URL="+dbURL,
		// All load comes from one address; throttling would turn it into 429s.
		"AUTH_RATE_LIMIT=0", "LOGIN_FAILURE_LIMIT=0", "LOG_LEVEL=info", "LOG_FORMAT=json")
	for _, args := range [][]string{{"migrate", "up"}, {"user", "add", adminEmail, "--admin", "--password-stdin"}, {"user", "add", userEmail, "--password-stdin"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = env, dir
		cmd.Stdin = strings.NewReader(benchPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%v: %v: %s", args, err, out)
		}
	}
	start := time.Now()
	if err := seedWidgets(ctx, engine, dbURL, seed); err != nil {
		return "", fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: seeded %d widgets in %s\n", engine, seed, time.Since(start).Round(time.Millisecond))

	if o.profile != "" {
		env = append(env, "PPROF_ADDR=127.0.0.1:0")
	}
	srv, err := startServer(bin, dir, env, o.profile != "")
	if err != nil {
		return "", err
	}
	defer srv.stop()
	admin, err := login(srv.url, adminEmail)
	if err != nil {
		return "", err
	}
	user, err := login(srv.url, userEmail)
	if err != nil {
		return "", err
	}

	// The ceiling serves exactly the bytes of one widget.
	body, err := get(srv.url+"/api/v1/widgets/"+widgetName(1), user)
	if err != nil {
		return "", err
	}
	bodyFile := filepath.Join(dir, "widget.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return "", err
	}
	ceiling, err := startCeiling(bodyFile)
	if err != nil {
		return "", err
	}
	defer ceiling.stop()

	pages := (seed + 9) / 10
	names := min(seed, 500)
	var created atomic.Int64
	scenarios := []struct {
		name     string
		targeter vegeta.Targeter
		// flood, when set, runs alongside on floodWorkers connections
		// while the scenario's own load runs on readerWorkers: the row
		// then measures other users' requests under that flood.
		flood vegeta.Targeter
	}{
		{"GET /auth/user", static("GET", srv.url+"/api/v1/auth/user", user, nil), nil},
		{"GET /widgets/{name}", cycling(srv.url, user, names), nil},
		{"GET /widgets page 1", static("GET", srv.url+"/api/v1/widgets?page=1&per_page=10", user, nil), nil},
		{fmt.Sprintf("GET /widgets page %d (middle)", max(1, pages/2)), static("GET", fmt.Sprintf("%s/api/v1/widgets?page=%d&per_page=10", srv.url, max(1, pages/2)), user, nil), nil},
		{fmt.Sprintf("GET /widgets page %d (last)", pages), static("GET", fmt.Sprintf("%s/api/v1/widgets?page=%d&per_page=10", srv.url, pages), user, nil), nil},
		{"POST /widgets", creating(srv.url, admin, &created), nil},
		{"POST /auth/login (cost 12)", static("POST", srv.url+"/api/v1/auth/login", "",
			[]byte(url.Values{"email": {userEmail}, "password": {benchPassword}}.Encode())), nil},
		// Logins of unknown emails, each allowed, from 16 connections keep
		// bcrypt busy; the admission gate must leave a core to the readers.
		{"GET /widgets page 1 under a login flood", static("GET", srv.url+"/api/v1/widgets?page=1&per_page=10", user, nil),
			unknownLogins(srv.url)},
	}
	var results []result
	ceilingTarget := static("GET", ceiling.url+"/", user, nil)
	for _, sc := range scenarios {
		if len(o.only) > 0 && !slices.ContainsFunc(o.only, func(part string) bool { return strings.Contains(sc.name, part) }) {
			continue
		}
		r := result{name: sc.name, codes: map[string]int{}}
		login := strings.HasPrefix(sc.name, "POST /auth/login")
		// Each scenario reports its own peak; the process's memory from
		// earlier scenarios stays, as it would in production.
		srv.peakRSS.Store(0)
		for round := range o.rounds {
			c := attack(ctx, ceilingTarget, o, nil)
			// The machine's speed drifts over a long run, so the bcrypt
			// rate a login run is held to is measured right before it.
			var bcryptRate float64
			if login {
				bcryptRate = float64(runtime.NumCPU()) / bcryptCompareTime().Seconds()
			}
			// The first round of the widget read is profiled while it runs.
			var profiled chan error
			if round == 0 && o.profile != "" && sc.name == "GET /widgets/{name}" {
				path := fmt.Sprintf("%s-%s-%d.pprof", strings.TrimSuffix(o.profile, ".pprof"), engine, seed)
				profiled = make(chan error, 1)
				go func() { profiled <- srv.cpuProfile(ctx, o.duration, path) }()
			}
			so := o
			if login {
				// Logins alone, as many at once as the service queues: a
				// closed loop of more is answered 503 by its admission
				// gate, by design.
				so.duration, so.workers = o.loginDuration, loginWorkers()
			}
			var flood chan vegeta.Metrics
			if sc.flood != nil {
				so.duration = o.loginDuration
				fo := so
				fo.workers = floodWorkers
				so.workers = readerWorkers
				flood = make(chan vegeta.Metrics, 1)
				go func() { flood <- attack(ctx, sc.flood, fo, nil) }()
			}
			m := attack(ctx, sc.targeter, so, srv)
			if flood != nil {
				fm := <-flood
				// Each 401 is one bcrypt comparison; a 503 is the gate's
				// refusal, made without one.
				r.flood = append(r.flood, fmt.Sprintf("%.0f requests/s, %.1f comparisons/s, statuses %v",
					fm.Rate, float64(fm.StatusCodes["401"])/fm.Duration.Seconds(), fm.StatusCodes))
			}
			if profiled != nil {
				if err := <-profiled; err != nil {
					return "", err
				}
			}
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			r.ceiling += c.Throughput / float64(o.rounds)
			r.rps += m.Throughput / float64(o.rounds)
			if login {
				r.ofBcrypt += m.Throughput / bcryptRate / float64(o.rounds)
			}
			r.p50 = max(r.p50, m.Latencies.P50)
			r.p99 = max(r.p99, m.Latencies.P99)
			r.total += m.Requests
			for code, n := range m.StatusCodes {
				r.codes[code] += n
				if !strings.HasPrefix(code, "2") {
					r.non2xx += uint64(n)
				}
			}
			r.peakRSS = max(r.peakRSS, srv.peakRSS.Load())
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "  %-34s %9.0f req/s  ratio %.2f  non-2xx %d\n", r.name, r.rps, r.rps/r.ceiling, r.non2xx)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "### %s, %d widgets\n\n", engine, seed)
	fmt.Fprintln(&b, "| scenario | req/s | p50 | p99 | ceiling req/s | ratio to ceiling | non-2xx | peak RSS |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		ratio := fmt.Sprintf("%.2f", r.rps/r.ceiling)
		if strings.HasPrefix(r.name, "POST /auth/login") {
			// The target is 0.9 of this.
			ratio += fmt.Sprintf(" (%.2f × cores ÷ bcrypt)", r.ofBcrypt)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.0f | %s | %d of %d | %.1f MiB |\n", r.name, r.rps,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.ceiling, ratio, r.non2xx, r.total, float64(r.peakRSS)/(1<<20))
	}
	for _, r := range results {
		if len(r.flood) > 0 {
			fmt.Fprintf(&b, "\n%s: %d reader connections (target: p99 ≤ 25 ms) while %d connections log in with unknown emails; the flood, per round: %s.\n",
				r.name, readerWorkers, floodWorkers, strings.Join(r.flood, "; "))
		}
	}
	var failed uint64
	for _, r := range results {
		failed += r.non2xx
	}
	if failed > 0 {
		fmt.Fprintf(&b, "\nnon-2xx: yes (%d)\n", failed)
	}
	b.WriteString("\n")
	return b.String(), nil
}

// attack runs one closed-loop load of o.duration, cut short when ctx ends;
// while it runs, the RSS of srv (when given) is sampled.
func attack(ctx context.Context, t vegeta.Targeter, o options, srv *server) vegeta.Metrics {
	a := vegeta.NewAttacker(vegeta.Workers(uint64(o.workers)), vegeta.MaxWorkers(uint64(o.workers)),
		vegeta.Connections(o.workers), vegeta.MaxConnections(o.workers), vegeta.KeepAlive(true),
		vegeta.Timeout(30*time.Second))
	stop := make(chan struct{})
	if srv != nil {
		go srv.sampleRSS(stop)
	}
	defer context.AfterFunc(ctx, func() { a.Stop() })()
	var m vegeta.Metrics
	for res := range a.Attack(t, vegeta.Rate{Freq: 0}, o.duration, "load") {
		m.Add(res)
	}
	close(stop)
	m.Close()
	return m
}

func static(method, u, token string, body []byte) vegeta.Targeter {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return vegeta.NewStaticTargeter(vegeta.Target{Method: method, URL: u, Header: h, Body: body})
}

func cycling(base, token string, n int) vegeta.Targeter {
	var i atomic.Int64
	h := http.Header{"Authorization": {"Bearer " + token}}
	return func(t *vegeta.Target) error {
		*t = vegeta.Target{Method: "GET", URL: base + "/api/v1/widgets/" + widgetName(int(i.Add(1))%n+1), Header: h}
		return nil
	}
}

func creating(base, token string, n *atomic.Int64) vegeta.Targeter {
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/x-www-form-urlencoded"}}
	return func(t *vegeta.Target) error {
		body := url.Values{"name": {fmt.Sprintf("bench-new-%d", n.Add(1))},
			"info_url": {"https://example.com/new"}, "deadline": {"2099-12-31"}}.Encode()
		*t = vegeta.Target{Method: "POST", URL: base + "/api/v1/widgets", Header: h, Body: []byte(body)}
		return nil
	}
}

// unknownLogins logs in with a new unknown email each time: every one
// costs a bcrypt comparison (against the dummy hash) and answers 401.
func unknownLogins(base string) vegeta.Targeter {
	var i atomic.Int64
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return func(t *vegeta.Target) error {
		body := url.Values{"email": {fmt.Sprintf("nobody-%d@bench.local", i.Add(1))}, "password": {"not-the-password"}}.Encode()
		*t = vegeta.Target{Method: "POST", URL: base + "/api/v1/auth/login", Header: h, Body: []byte(body)}
		return nil
	}
}

func widgetName(i int) string { return fmt.Sprintf("w%07d", i) }

// seedWidgets inserts n widgets owned by the admin straight into the
// database; a million over HTTP would take longer than the benchmark.
func seedWidgets(ctx context.Context, engine, dbURL string, n int) error {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	deadline := time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)
	switch engine {
	case "sqlite":
		db, err := sql.Open("sqlite3", "file:"+strings.TrimPrefix(dbURL, "sqlite:///")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `
			WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?)
			INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
			SELECT printf('w%07d', n), 'https://example.com/' || n, ? + n, ?,
			       (SELECT id FROM users WHERE email = ?)
			FROM c`, n, base, deadline.Unix(), adminEmail)
		return err
	default:
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		// A million trigger updates of the one count row would take minutes:
		// load with the trigger off, then set the count once.
		for _, stmt := range []string{
			`ALTER TABLE widgets DISABLE TRIGGER widgets_count`,
			fmt.Sprintf(`INSERT INTO widgets (name, info_url, created_at, deadline, owner_id)
			 SELECT 'w' || lpad(n::text, 7, '0'), 'https://example.com/' || n,
			        to_timestamp(%d + n), '%s', (SELECT id FROM users WHERE email = '%s')
			 FROM generate_series(1, %d) AS n`, base, deadline.Format(time.RFC3339), adminEmail, n),
			`ALTER TABLE widgets ENABLE TRIGGER widgets_count`,
			`UPDATE widget_count SET total = (SELECT count(*) FROM widgets) WHERE id = 1`,
			`VACUUM ANALYZE widgets`,
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	}
}

// createPostgresDB makes a fresh database on the server at base and returns
// its URL and a function that drops it.
func createPostgresDB(base string) (string, func(), error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "widgetapi_bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			fmt.Fprintln(os.Stderr, "drop database:", err)
		}
		admin.Close()
	}, nil
}

// server is a running widgetapi process.
type server struct {
	cmd     *exec.Cmd
	url     string
	peakRSS atomic.Int64
	// pprofURL is where the server serves its profiles, when it does.
	pprofURL string
}

// cpuProfile saves a CPU profile of the server over most of d, the length
// of the load it is started with, to path.
func (s *server) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(1, int(d.Seconds())-1)
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%sprofile?seconds=%d", s.pprofURL, secs), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: status %d", res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "  CPU profile of the server: %s\n", path)
	return f.Close()
}

// startServer starts widgetapi serve and waits until it reports where it
// listens (and, with profiles, where it serves them).
func startServer(bin, dir string, env []string, profiles bool) (*server, error) {
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env, cmd.Dir = env, dir
	cmd.Stderr = nil // /dev/null: request logs stay on, at the cost of a write each
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	type addrs struct{ api, pprof string }
	listening := make(chan addrs, 1)
	go func() {
		var a addrs
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), " listening on "); ok {
				a.api = strings.TrimSpace(after)
			}
			if _, after, ok := strings.Cut(sc.Text(), "profiles:"); ok {
				a.pprof = strings.TrimSpace(after)
			}
			if a.api != "" && (a.pprof != "" || !profiles) {
				listening <- a
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		close(listening)
	}()
	select {
	case a, ok := <-listening:
		if ok {
			return &server{cmd: cmd, url: a.api, pprofURL: a.pprof}, nil
		}
		_ = cmd.Wait()
		return nil, fmt.Errorf("widgetapi serve exited before listening")
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("widgetapi serve did not start listening within a minute")
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

func (s *server) sampleRSS(stop chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if rss := rssOf(s.cmd.Process.Pid); rss > s.peakRSS.Load() {
			s.peakRSS.Store(rss)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// rssOf reads a process's resident set size from /proc, in bytes.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ceilingProc is the bare handler, run as a child process of this binary so
// that it is measured like the service.
type ceilingProc struct {
	cmd *exec.Cmd
	url string
}

func startCeiling(bodyFile string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-ceiling-server", "127.0.0.1:0", bodyFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("ceiling server: %w", err)
	}
	return &ceilingProc{cmd: cmd, url: "http://" + strings.TrimSpace(line)}, nil
}

func (c *ceilingProc) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

func serveCeiling(addr, bodyFile string) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	ln, err := netListen(addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

func login(base, email string) (string, error) {
	res, err := http.PostForm(base+"/api/v1/auth/login", url.Values{"email": {email}, "password": {benchPassword}})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("login %s: status %d", email, res.StatusCode)
	}
	return body.AccessToken, nil
}

func get(u, token string) ([]byte, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return io.ReadAll(res.Body)
}

// bcryptCompareTime is the fastest of seven comparisons at the production
// cost: noise only ever adds time, so the fastest is the truest cost, and
// the login target built on it the strictest.
func bcryptCompareTime() time.Duration {
	hash, _ := bcrypt.GenerateFromPassword([]byte(benchPassword), prodCost)
	fastest := time.Duration(math.MaxInt64)
	for range 7 {
		start := time.Now()
		_ = bcrypt.CompareHashAndPassword(hash, []byte(benchPassword))
		fastest = min(fastest, time.Since(start))
	}
	return fastest
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
