package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/pressly/goose/v3"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	env := databaseVars()
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: widgetapi migrate up|down|status\n\n"+
			"  up      apply every pending migration\n"+
			"  down    undo the most recent migration (one step)\n"+
			"  status  list migrations and whether each is applied\n\n"+
			"The database is the one DATABASE_URL names (see below).\n"+env.help())
	}
	if help, err := parseFlags(fs, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "migrate", "give one of up, down, status")
	}
	_, st, err := openConfigured(ctx, env.only(getenv))
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.Migrations()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	switch fs.Arg(0) {
	case "up":
		res, err := p.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(stdout, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
		}
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if len(res) == 0 {
			fmt.Fprintln(stdout, "no pending migrations")
		}
	case "down":
		r, err := p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			fmt.Fprintln(stdout, "nothing to undo: no migration is applied")
			return nil
		}
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintf(stdout, "undid %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
	case "status":
		sts, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, s := range sts {
			at := "-"
			if !s.AppliedAt.IsZero() {
				at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, at, s.Source.Path)
		}
		return tw.Flush()
	default:
		return usageError(stderr, "migrate", "unknown action %q; the actions are up, down, status", fs.Arg(0))
	}
	return nil
}
