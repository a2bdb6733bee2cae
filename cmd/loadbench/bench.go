package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

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

// scenario is one load to measure.
type scenario struct {
	name     string
	targeter vegeta.Targeter
	// flood, when set, runs alongside on floodWorkers connections while
	// the scenario's own load runs on readerWorkers: the row then measures
	// other users' requests under that flood.
	flood vegeta.Targeter
	// workers, when set, replaces the closed loop's connections: one
	// client measures a request's own latency, with no queueing.
	workers int
	// expect, when set, is the one status the scenario's requests should
	// get (a 304); else any 2xx.
	expect string
	// srv, when set, is the server the scenario loads, in place of the
	// bench's own (HS256) server.
	srv *server
	// prepare, when set, readies the scenario (its server, its targeter)
	// right before it is measured, and only when it is.
	prepare func(sc *scenario) error
}

func (sc scenario) login() bool { return strings.HasPrefix(sc.name, "POST /auth/login") }

// bench is one engine and seed under test: the server, its ceiling and the
// tokens of its users.
type bench struct {
	engine string
	seed   int
	srv    *server
	// eddsa serves the same database with TOKEN_ALG=EdDSA, for the widget
	// read with an EdDSA token, side by side with the HS256 one; userEd is
	// its user's token.
	eddsa       *server
	userEd      string
	ceiling     *ceilingProc
	admin, user string
	// cursor is the next_cursor of the middle page, for the cursor scenario.
	cursor string
	// etags are the ETags of the widgets the read scenarios cycle over.
	etags []string
	// mfaAccounts is how many accounts the two-step login cycles over.
	mfaAccounts int
	// env, dir and bin start more servers on the bench's database.
	env      []string
	dir, bin string
	// mail serves the reset requests, with sink as its mail server, once
	// the forgot scenario is prepared.
	mail *server
	sink *smtpSink
}

// benchOne measures every chosen scenario on engine with seed widgets and
// returns its section of the report.
func benchOne(ctx context.Context, work, bin, engine string, seed int, o options) (string, error) {
	dir, err := os.MkdirTemp(work, engine+"-")
	if err != nil {
		return "", err
	}
	db, err := prepareDatabase(ctx, dir, bin, engine, seed, o)
	if err != nil {
		return "", err
	}
	defer db.drop()
	b, err := startBench(dir, bin, engine, seed, db.env, o)
	if err != nil {
		return "", err
	}
	defer b.stop()
	var results []result
	for _, sc := range b.scenarios(o) {
		if len(o.only) > 0 && !slices.ContainsFunc(o.only, func(part string) bool { return strings.Contains(sc.name, part) }) {
			continue
		}
		if sc.prepare != nil {
			if err := sc.prepare(&sc); err != nil {
				return "", err
			}
		}
		rs, err := b.measure(ctx, sc, o)
		if err != nil {
			return "", err
		}
		results = append(results, rs...)
		for _, r := range rs {
			fmt.Fprintf(os.Stderr, "  %-34s %9.0f req/s  ratio %.2f  non-2xx %d\n", r.name, r.rps, r.rps/r.ceiling, r.non2xx)
		}
	}
	return section(engine, seed, results), nil
}

// startBench starts the server as in production, logs its users in, and
// starts the ceiling, which serves exactly the bytes of one widget.
func startBench(dir, bin, engine string, seed int, env []string, o options) (*bench, error) {
	if o.profile != "" {
		env = append(env, "PPROF_ADDR=127.0.0.1:0")
	}
	env = append(env, "INTROSPECTION_CLIENTS="+introspectionClient)
	srv, err := startServer(bin, dir, env, o.profile != "")
	if err != nil {
		return nil, err
	}
	b := &bench{engine: engine, seed: seed, srv: srv, env: env, dir: dir, bin: bin, mfaAccounts: mfaUsers}
	if o.smoke {
		b.mfaAccounts = mfaSmokeUsers
	}
	if b.eddsa, err = startServer(bin, dir, append(env, "TOKEN_ALG=EdDSA"), false); err != nil {
		srv.stop()
		return nil, err
	}
	if b.admin, err = login(srv.url, adminEmail); err == nil {
		b.user, err = login(srv.url, userEmail)
	}
	if err == nil {
		b.userEd, err = login(b.eddsa.url, userEmail)
	}
	var body []byte
	if err == nil {
		body, err = get(srv.url+"/api/v1/widgets/"+widgetName(1), b.user)
	}
	bodyFile := filepath.Join(dir, "widget.json")
	if err == nil {
		err = os.WriteFile(bodyFile, body, 0o644)
	}
	if err == nil {
		b.ceiling, err = startCeiling(bodyFile)
	}
	if err == nil {
		b.etags, err = widgetTags(srv.url, b.user, min(seed, 500))
	}
	if err == nil && seed > 10 {
		var page map[string]any
		page, err = getJSON(fmt.Sprintf("%s/api/v1/widgets?page=%d&per_page=10", srv.url, max(1, (seed+9)/10/2)), b.user)
		b.cursor, _ = page["next_cursor"].(string)
	}
	if err != nil {
		if b.ceiling != nil {
			b.ceiling.stop()
		}
		b.eddsa.stop()
		srv.stop()
		return nil, err
	}
	return b, nil
}

// introspectionClient is the bench's client of token introspection.
const introspectionClient = "bench:bench-client-secret-0123456789"

func (b *bench) stop() {
	if b.mail != nil {
		b.mail.stop()
	}
	if b.sink != nil {
		b.sink.close()
	}
	b.ceiling.stop()
	b.eddsa.stop()
	b.srv.stop()
}

func (b *bench) scenarios(o options) []scenario {
	base := b.srv.url
	pages := (b.seed + 9) / 10
	page := func(n int) string { return fmt.Sprintf("%s/api/v1/widgets?page=%d&per_page=10", base, n) }
	list := func(query string) string { return base + "/api/v1/widgets?per_page=10&" + query }
	var created, forgets atomic.Int64
	// A filter of 1 % of the widgets: the names of a range of seed/100
	// consecutive numbers share a prefix when seed/100 is a power of ten.
	prefix, matches := filterPrefix(b.seed)
	return []scenario{
		{name: "GET /auth/user", targeter: static("GET", base+"/api/v1/auth/user", b.user, nil)},
		{name: "GET /widgets/{name}", targeter: cycling(base, b.user, min(b.seed, 500))},
		// The same read on the same database from a process signing with
		// EdDSA: verification is one Ed25519 check per new token, then the
		// verified-signature cache, as for HS256.
		{name: eddsaRead, targeter: cycling(b.eddsa.url, b.userEd, min(b.seed, 500)), srv: b.eddsa},
		// A gateway asking about a token: HTTP Basic, then the token's
		// session read, as every request does.
		{name: "POST /auth/introspect", targeter: introspecting(base, b.user)},
		// Clients that hold the widget revalidate it: a 304 with no body.
		{name: "GET /widgets/{name} If-None-Match (304)", targeter: revalidating(base, b.user, b.etags), expect: "304"},
		{name: "GET /widgets page 1", targeter: static("GET", page(1), b.user, nil)},
		{name: fmt.Sprintf("GET /widgets page %d (middle)", max(1, pages/2)), targeter: static("GET", page(max(1, pages/2)), b.user, nil)},
		{name: fmt.Sprintf("GET /widgets page %d (last)", pages), targeter: static("GET", page(pages), b.user, nil)},
		{name: "GET /widgets by cursor (middle)", targeter: static("GET", base+"/api/v1/widgets?per_page=10&cursor="+b.cursor, b.user, nil)},
		{name: fmt.Sprintf("GET /widgets name_prefix=%s (%d widgets), one client", prefix, matches),
			targeter: static("GET", base+"/api/v1/widgets?per_page=10&name_prefix="+prefix, b.user, nil), workers: 1},
		// Filters and sorts under the full load: each request's exact
		// Total-Count is what a repeated filter used to pay for again.
		{name: fmt.Sprintf("GET /widgets name_prefix=%s", prefix), targeter: static("GET", list("name_prefix="+prefix), b.user, nil)},
		{name: fmt.Sprintf("GET /widgets name_prefix=%s deadline_before=2099-03-31", prefix),
			targeter: static("GET", list("name_prefix="+prefix+"&deadline_before=2099-03-31"), b.user, nil)},
		{name: "GET /widgets deadline_after=2099-10-01", targeter: static("GET", list("deadline_after=2099-10-01"), b.user, nil)},
		{name: "GET /widgets passed=false", targeter: static("GET", list("passed=false"), b.user, nil)},
		{name: "GET /widgets sort=name", targeter: static("GET", list("sort=name"), b.user, nil)},
		{name: "GET /widgets sort=-deadline", targeter: static("GET", list("sort=-deadline"), b.user, nil)},
		{name: "GET /widgets every filter, sort=deadline", targeter: static("GET",
			list("name_prefix="+prefix+"&deadline_after=2099-02-01&deadline_before=2099-11-30&passed=false&sort=deadline"), b.user, nil)},
		{name: "POST /widgets", targeter: creating(base, b.admin, &created)},
		{name: "POST /auth/login (cost 12)", targeter: static("POST", base+"/api/v1/auth/login", "",
			[]byte("email="+userEmail+"&password="+benchPassword))},
		// The login of accounts with a second factor: the password, then a
		// code, each request of the row both steps.
		{name: mfaLoginScenario, prepare: func(sc *scenario) error {
			m, err := enrolAccounts(base, b.mfaAccounts)
			if err != nil {
				return err
			}
			sc.targeter = m.targeter()
			return nil
		}},
		// Logins of unknown emails, each allowed, from 16 connections keep
		// bcrypt busy; the admission gate must leave a core to the readers.
		{name: "GET /widgets page 1 under a login flood", targeter: static("GET", page(1), b.user, nil), flood: unknownLogins(base)},
		// Reset requests for registered and unknown addresses in turn,
		// measured apart: the two must take about as long (target: within
		// 10 % at p50 and p99), and the registered ones send their mail.
		{name: forgotScenario, prepare: func(sc *scenario) error {
			if b.mail == nil {
				if err := b.startMailServer(b.env, b.dir, b.bin, o.forgotAccounts); err != nil {
					return fmt.Errorf("forgot: %w", err)
				}
			}
			sc.srv, sc.targeter = b.mail, forgotting(b.mail.url, o.forgotAccounts, &forgets)
			return nil
		}},
	}
}

// eddsaRead is the scenario of the widget read with an EdDSA token.
const eddsaRead = "GET /widgets/{name} (EdDSA token)"

// filterPrefix is a name prefix that 1 % of seed widgets have, and how many.
func filterPrefix(seed int) (string, int) {
	m := max(1, seed/100)
	digits := 0
	for p := 1; p*10 <= m; p *= 10 {
		digits++
	}
	name := widgetName(m)
	prefix := name[:len(name)-digits]
	n := 0
	for i := 1; i <= seed; i++ {
		if strings.HasPrefix(widgetName(i), prefix) {
			n++
		}
	}
	return prefix, n
}

// measure runs sc for o.rounds rounds, each right after a run of the
// ceiling, and sums what they measured: one result, or one for each kind
// of request the scenario tells apart.
func (b *bench) measure(ctx context.Context, sc scenario, o options) ([]result, error) {
	srv := b.srv
	if sc.srv != nil {
		srv = sc.srv
	}
	// Each scenario reports its own peak; the process's memory from
	// earlier scenarios stays, as it would in production.
	srv.peakRSS.Store(0)
	ceilingTarget := static("GET", b.ceiling.url+"/", b.user, nil)
	byKind := map[string]*result{}
	var kinds []string
	for round := range o.rounds {
		c := attack(ctx, ceilingTarget, o, nil)
		// The machine's speed drifts over a long run, so the bcrypt rate a
		// login run is held to is measured right before it.
		var bcryptRate float64
		if sc.login() {
			bcryptRate = float64(runtime.NumCPU()) / bcryptCompareTime().Seconds()
		}
		ms, flood, err := b.round(ctx, sc, round, o)
		if err != nil {
			return nil, err
		}
		for kind, m := range ms {
			r := byKind[kind]
			if r == nil {
				r = &result{name: sc.name, codes: map[string]int{}}
				if kind != "" {
					r.name += " (" + kind + ")"
				}
				byKind[kind] = r
				kinds = append(kinds, kind)
			}
			r.ceiling += c.Throughput / float64(o.rounds)
			r.rps += m.Throughput / float64(o.rounds)
			if sc.login() {
				r.ofBcrypt += m.Throughput / bcryptRate / float64(o.rounds)
			}
			if flood != "" {
				r.flood = append(r.flood, flood)
			}
			r.p50, r.p99 = max(r.p50, m.Latencies.P50), max(r.p99, m.Latencies.P99)
			r.total += m.Requests
			for code, n := range m.StatusCodes {
				r.codes[code] += n
				if sc.expect != "" && code != sc.expect || sc.expect == "" && !strings.HasPrefix(code, "2") {
					r.non2xx += uint64(n)
				}
			}
			r.peakRSS = max(r.peakRSS, srv.peakRSS.Load())
		}
	}
	slices.Sort(kinds)
	out := make([]result, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, *byKind[k])
	}
	if k := byKind[forgotKnown]; k != nil && k.total > uint64(o.forgotAccounts)*5 {
		return nil, fmt.Errorf("%w (%d requests for %d accounts)", errTooFewAccounts, k.total, o.forgotAccounts)
	}
	return out, nil
}

// round runs one round of sc: with its flood alongside when it has one, and
// with the server's CPU profiled in the widget read's first round.
func (b *bench) round(ctx context.Context, sc scenario, round int, o options) (map[string]*vegeta.Metrics, string, error) {
	so := o
	if sc.workers > 0 {
		so.workers = sc.workers
	}
	if sc.login() {
		// Logins alone, as many at once as the service queues: a closed
		// loop of more is answered 503 by its admission gate, by design.
		so.duration, so.workers = o.loginDuration, loginWorkers()
	}
	var profiled chan error
	// The widget read's profile is cpu-ENGINE-SEED.pprof, the first
	// page's cpu-ENGINE-SEED-list.pprof.
	suffix, profile := map[string]string{"GET /widgets/{name}": "", "GET /widgets page 1": "-list"}[sc.name]
	if round == 0 && o.profile != "" && profile {
		path := fmt.Sprintf("%s-%s-%d%s.pprof", strings.TrimSuffix(o.profile, ".pprof"), b.engine, b.seed, suffix)
		profiled = make(chan error, 1)
		go func() { profiled <- b.srv.cpuProfile(ctx, o.duration, path) }()
	}
	var flood chan vegeta.Metrics
	if sc.flood != nil {
		so.duration = o.loginDuration
		fo := so
		fo.workers, so.workers = floodWorkers, readerWorkers
		flood = make(chan vegeta.Metrics, 1)
		go func() { flood <- attack(ctx, sc.flood, fo, nil) }()
	}
	srv := b.srv
	if sc.srv != nil {
		srv = sc.srv
	}
	m := attackByKind(ctx, sc.targeter, so, srv)
	var note string
	if flood != nil {
		fm := <-flood
		// Each 401 is one bcrypt comparison; a 503 is the gate's refusal,
		// made without one.
		note = fmt.Sprintf("%.0f requests/s, %.1f comparisons/s, statuses %v",
			fm.Rate, float64(fm.StatusCodes["401"])/fm.Duration.Seconds(), fm.StatusCodes)
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return m, note, err
		}
	}
	return m, note, ctx.Err()
}

// section is the report of one engine and seed.
func section(engine string, seed int, results []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s, %d widgets\n\n", engine, seed)
	fmt.Fprintln(&b, "| scenario | req/s | p50 | p99 | ceiling req/s | ratio to ceiling | non-2xx | peak RSS |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|")
	var failed uint64
	for _, r := range results {
		ratio := fmt.Sprintf("%.2f", r.rps/r.ceiling)
		if strings.HasPrefix(r.name, "POST /auth/login") {
			// The target is 0.9 of this.
			ratio += fmt.Sprintf(" (%.2f × cores ÷ bcrypt)", r.ofBcrypt)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.0f | %s | %d of %d | %.1f MiB |\n", r.name, r.rps,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.ceiling, ratio, r.non2xx, r.total, float64(r.peakRSS)/(1<<20))
		failed += r.non2xx
	}
	var hs, ed result
	for _, r := range results {
		switch r.name {
		case "GET /widgets/{name}":
			hs = r
		case eddsaRead:
			ed = r
		}
	}
	if hs.rps > 0 && ed.rps > 0 {
		// Each against the ceiling run just before it: the host's speed
		// drifts between the two scenarios' runs.
		fmt.Fprintf(&b, "\nThe widget read with an EdDSA token runs at %.2f × the read with an HS256 token, each as a ratio to its ceiling (%.2f in requests/s; target: at least 0.9).\n",
			(ed.rps/ed.ceiling)/(hs.rps/hs.ceiling), ed.rps/hs.rps)
	}
	var known, unknown result
	for _, r := range results {
		switch r.name {
		case forgotScenario + " (" + forgotKnown + ")":
			known = r
		case forgotScenario + " (" + forgotUnknown + ")":
			unknown = r
		}
	}
	if known.total > 0 && unknown.total > 0 {
		fmt.Fprintf(&b, "\nA reset request for a registered address takes %.2f × the time of one for an unknown address at p50, %.2f × at p99 (target: within 10 %%).\n",
			float64(known.p50)/float64(unknown.p50), float64(known.p99)/float64(unknown.p99))
	}
	for _, r := range results {
		if len(r.flood) > 0 {
			fmt.Fprintf(&b, "\n%s: %d reader connections (target: p99 ≤ 25 ms) while %d connections log in with unknown emails; the flood, per round: %s.\n",
				r.name, readerWorkers, floodWorkers, strings.Join(r.flood, "; "))
		}
	}
	if failed > 0 {
		fmt.Fprintf(&b, "\nnon-2xx: yes (%d)\n", failed)
	}
	b.WriteString("\n")
	return b.String()
}
