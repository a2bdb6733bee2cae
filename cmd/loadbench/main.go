// Command loadbench measures widgetapi under load on this machine: it builds
// the binary, starts it on SQLite and PostgreSQL with seeded widgets, loads
// each scenario with vegeta in a closed loop over loopback, alternating with
// a bare net/http handler that returns the same bytes as a widget (the
// ceiling), and prints requests/s, p50, p99, non-2xx and peak RSS per
// scenario with its ratio to the ceiling.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/ncruces/go-sqlite3/driver"
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
	// smoke is a quick check of the instrument that fails on any non-2xx.
	smoke bool
	// creatorProcs, when set, measures only widget creates from that many
	// serve processes on one PostgreSQL, creatorWorkers goroutines each.
	creatorProcs, creatorWorkers int
	// forgotAccounts is how many accounts the forgot scenario's registered
	// addresses cycle over: each gets 5 reset mails an hour, so a run of
	// that scenario asks for at most 5 × this.
	forgotAccounts int
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
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := buildServer(work)
	if err != nil {
		return err
	}
	var report strings.Builder
	report.WriteString(preamble(o))
	fmt.Print(report.String())
	if o.creatorProcs > 0 {
		section, err := creates(ctx, work, bin, o)
		fmt.Print(section)
		report.WriteString(section)
		if err != nil {
			return err
		}
		o.engines = nil
	}
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
	if o.smoke && strings.Contains(report.String(), "non-2xx: yes") {
		return fmt.Errorf("the smoke run got non-2xx responses")
	}
	return nil
}

// parseOptions reads the command line.
func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	engines := fs.String("engines", "sqlite", "comma-separated engines: sqlite, postgres")
	seeds := fs.String("seeds", "1000,1000000", "comma-separated numbers of widgets to seed")
	duration := fs.Duration("duration", 5*time.Second, "length of one load run")
	rounds := fs.Int("rounds", 3, "runs of each scenario, each after a run of the ceiling")
	workers := fs.Int("workers", 32, "concurrent connections of the closed-loop load")
	pgURL := fs.String("pg-url", os.Getenv("WIDGETAPI_BENCH_POSTGRES_URL"), "PostgreSQL server URL whose user may create databases")
	smoke := fs.Bool("smoke", false, "a quick check that the benchmark works (SQLite, 100 widgets, 1 s runs, one round); fails on any non-2xx")
	out := fs.String("out", "", "also write the report to this Markdown file")
	profile := fs.String("cpuprofile", "", "save CPU profiles of the server during GET /widgets/{name} (path-ENGINE-SEED.pprof) and GET /widgets page 1 (path-ENGINE-SEED-list.pprof), one per engine and seed")
	creatorProcs := fs.Int("creates-procs", 0, "instead of the scenarios, measure widget creates from this many serve processes on one PostgreSQL (-pg-url)")
	creatorWorkers := fs.Int("creates-workers", 8, "with -creates-procs: goroutines creating widgets in each process")
	forgotAccounts := fs.Int("forgot-accounts", 4000, "accounts the forgot scenario's registered addresses cycle over (5 reset mails an hour each)")
	only := fs.String("scenarios", "", `comma-separated parts of scenario names to run, e.g. "widgets/{name},auth/user" (default: all)`)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{engines: split(*engines), duration: *duration, rounds: *rounds, workers: *workers, pgURL: *pgURL,
		out: *out, only: split(*only), profile: *profile, smoke: *smoke,
		creatorProcs: *creatorProcs, creatorWorkers: *creatorWorkers, forgotAccounts: *forgotAccounts}
	for _, s := range split(*seeds) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return o, fmt.Errorf("-seeds: %q is not a positive integer", s)
		}
		o.seeds = append(o.seeds, n)
	}
	o.loginDuration = max(o.duration, 15*time.Second)
	if o.smoke {
		o.engines, o.seeds, o.duration, o.rounds, o.loginDuration = []string{"sqlite"}, []int{100}, time.Second, 1, time.Second
		// A second of reset requests asks for far fewer mails than 5 × 300.
		o.forgotAccounts = min(o.forgotAccounts, 300)
	}
	if o.creatorProcs > 0 && o.pgURL == "" {
		return o, fmt.Errorf("-creates-procs needs -pg-url or WIDGETAPI_BENCH_POSTGRES_URL")
	}
	for _, e := range o.engines {
		if e == "postgres" && o.pgURL == "" {
			return o, fmt.Errorf("-engines postgres needs -pg-url or WIDGETAPI_BENCH_POSTGRES_URL")
		}
		if e != "postgres" && e != "sqlite" {
			return o, fmt.Errorf("-engines: unknown engine %q", e)
		}
	}
	return o, nil
}

// buildServer builds the static binary under test into dir.
func buildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "widgetapi")
	build := exec.Command("go", "build", "-o", bin, "./cmd/widgetapi")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build widgetapi (run loadbench from the repository root): %w", err)
	}
	return bin, nil
}

// preamble describes the machine, the load and what bcrypt costs here.
func preamble(o options) string {
	cmp := bcryptCompareTime()
	return fmt.Sprintf("Machine: %d cores, %s, %s, %s/%s. Load: vegeta, closed loop, %d connections, %s runs, %d round(s), each scenario run right after a ceiling run.\n\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, o.workers, o.duration, o.rounds) +
		fmt.Sprintf("One bcrypt comparison at cost %d (fastest of 7): %s, so the cores can compare %.1f a second. "+
			"The login rows measure this again right before each run and report their throughput as a multiple of it (target: 0.9).\n\n",
			prodCost, cmp.Round(time.Millisecond), float64(runtime.NumCPU())/cmp.Seconds())
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
