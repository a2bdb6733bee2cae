package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"widgetapi/internal/app"
	"widgetapi/keys"
)

// keysVars are what the keys commands read: the database; SECRET_KEY,
// which seals the private keys; the algorithm; and the times that decide
// each key's state.
func keysVars() vars {
	return databaseVars("SECRET_KEY", "TOKEN_ALG", "TOKEN_TTL", "TOKEN_LEEWAY", "KEY_PUBLISH_AHEAD")
}

const keysListUsage = `Usage: widgetapi keys list

Lists the token signing keys of TOKEN_ALG (EdDSA or ES256) in the order they
were made, with their states: next (published in the JWKS, not signing
yet), signing, verifying (no longer signing, tokens it signed may live) and
retired (out of the JWKS; also keys of another algorithm). UNTIL is when a
next key starts signing, a signing key stops, or a verifying key retires.
Safe while serve runs.
`

const keysRotateUsage = `Usage: widgetapi keys rotate

Makes a new signing key of TOKEN_ALG (EdDSA or ES256). It is published in
the JWKS at once and signs from KEY_PUBLISH_AHEAD on; the key it replaces
keeps verifying until the last token it signed has expired, then leaves the
JWKS. No one is logged out. Every serve process learns of the key by
itself; run it while they serve. Under HS256, rotate SECRET_KEY instead.
`

func runKeysList(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	return withKeys(ctx, "keys list", keysListUsage, args, getenv, stdout, stderr, func(m *keys.Manager) error {
		list, err := m.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tUNTIL")
		for _, k := range list {
			until := "-"
			if !k.Until.IsZero() {
				until = k.Until.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State, k.CreatedAt.UTC().Format(time.RFC3339), until)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintf(stdout, "no keys; TOKEN_ALG is %s", m.Alg())
			if keys.Asymmetric(m.Alg()) {
				fmt.Fprint(stdout, " and serve makes the first key when it starts")
			}
			fmt.Fprintln(stdout)
		}
		return nil
	})
}

func runKeysRotate(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	return withKeys(ctx, "keys rotate", keysRotateUsage, args, getenv, stdout, stderr, func(m *keys.Manager) error {
		k, err := m.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s (%s) is published now and signs from %s\n", k.KID, k.Alg, k.ActivatesAt.UTC().Format(time.RFC3339))
		return nil
	})
}

// withKeys parses a keys command's arguments (none but --help) and runs do
// with the key set of the configured database, migrated.
func withKeys(ctx context.Context, name, usage string, args []string, getenv func(string) string, stdout, stderr io.Writer,
	do func(*keys.Manager) error) error {
	fs := commandFlags(name, usage, keysVars())
	if help, err := parseFlags(fs, args, stdout, stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(stderr, name, "unexpected argument %q", fs.Arg(0))
	}
	cfg, st, err := openConfigured(ctx, keysVars().only(getenv))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := cfg.ResolveSecret(); err != nil {
		return err
	}
	if _, err := migrateUp(ctx, st); err != nil {
		return err
	}
	m, err := app.NewKeys(cfg, st, time.Now)
	if err != nil {
		return err
	}
	return do(m)
}
