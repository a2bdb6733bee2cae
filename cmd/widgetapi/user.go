package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"widgetapi"
	"widgetapi/accounts"
	"widgetapi/audit"
	"widgetapi/auth"
)

// The variables the user commands read: the database; the log, for those
// that change an account and write its audit event there; the cost of
// the hashes, for those that set a password.
func userReadVars() vars   { return databaseVars() }
func userChangeVars() vars { return databaseVars("LOG_LEVEL", "LOG_FORMAT") }
func userHashVars() vars   { return databaseVars("BCRYPT_COST", "LOG_LEVEL", "LOG_FORMAT") }

// parseUserArgs parses a user subcommand's flags and its one EMAIL, which
// may come before or after them.
func parseUserArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (email string, help bool, err error) {
	rest := args
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		email, rest = rest[0], rest[1:]
	}
	if help, err := parseFlags(fs, rest, stdout, stderr); help || err != nil {
		return "", help, err
	}
	if email == "" && fs.NArg() > 0 {
		email = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", false, usageError(stderr, fs.Name(), "%v", err)
		}
	}
	if email == "" {
		return "", false, usageError(stderr, fs.Name(), "give the EMAIL of the user")
	}
	if fs.NArg() > 0 {
		return "", false, usageError(stderr, fs.Name(), "unexpected argument %q", fs.Arg(0))
	}
	return email, false, nil
}

// operator is what the user commands act through: the services of the API
// over the configured database, with the command line as the source of
// their audit events, which are logged to stderr.
type operator struct {
	auth     *auth.Service
	accounts *accounts.Service
	close    func() error
}

// openOperator opens the configured database, migrated, and the services
// over it; it signs nothing, so it needs no key. The context it returns
// marks the audit events of the command as the command line's.
func openOperator(ctx context.Context, getenv func(string) string, env vars, stderr io.Writer) (context.Context, *operator, error) {
	cfg, st, err := openConfigured(ctx, env.only(getenv))
	if err != nil {
		return ctx, nil, err
	}
	if _, err := migrateUp(ctx, st); err != nil {
		st.Close()
		return ctx, nil, err
	}
	log := audit.New(st, newLogger(cfg, stderr), time.Now)
	svc, err := auth.NewService(auth.ServiceConfig{Users: st, Cost: cfg.BcryptCost, Now: time.Now, Audit: log})
	if err != nil {
		st.Close()
		return ctx, nil, err
	}
	ctx = widgetapi.NewContextWithRequest(ctx, widgetapi.RequestInfo{Source: widgetapi.SourceCLI})
	return ctx, &operator{auth: svc, accounts: accounts.New(st, log, time.Now), close: st.Close}, nil
}

// oneLine is err as the one line a command prints: the fields of a
// validation error by name, or the client-safe message.
func oneLine(cmd string, err error) error {
	var de *widgetapi.Error
	if errors.As(err, &de) && de.Code == widgetapi.EINVALID {
		return fmt.Errorf("%s: %s", cmd, de.FieldProblems())
	}
	return fmt.Errorf("%s: %s", cmd, widgetapi.ErrorMessage(err))
}

const userAddUsage = `Usage: widgetapi user add EMAIL [--admin] [--password-stdin]

Creates a user with the same validation as POST /api/v1/auth/register.
The password is asked for twice without echo, or read as one line from
standard input with --password-stdin. A duplicate or invalid email exits
non-zero with a one-line reason.
`

func runUserAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("user add", userAddUsage, userHashVars())
	admin := fs.Bool("admin", false, "make the user an administrator")
	return withPassword(ctx, fs, args, getenv, stdin, stdout, stderr, func(ctx context.Context, op *operator, email, password string) error {
		u, err := op.auth.CreateUser(ctx, email, password, *admin)
		if err != nil {
			return oneLine("user add", err)
		}
		role := "user"
		if u.Admin {
			role = "admin"
		}
		fmt.Fprintf(stdout, "created %s %s (public_id %s)\n", role, u.Email, u.PublicID)
		return nil
	})
}

const userPasswdUsage = `Usage: widgetapi user passwd EMAIL [--password-stdin]

Sets the password of the user with EMAIL, with the rules of registration,
and ends every session of theirs at once, in every process. The password is
asked for twice without echo, or read as one line from standard input with
--password-stdin. An unknown email or an invalid password exits non-zero
with a one-line reason.
`

func runUserPasswd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("user passwd", userPasswdUsage, userHashVars())
	return withPassword(ctx, fs, args, getenv, stdin, stdout, stderr, func(ctx context.Context, op *operator, email, password string) error {
		u, err := op.auth.SetPassword(ctx, email, password)
		if err != nil {
			return oneLine("user passwd", err)
		}
		fmt.Fprintf(stdout, "password set for %s; every session of theirs has ended\n", u.Email)
		return nil
	})
}

// withPassword runs a command that sets a password (user add, user
// passwd): it parses the EMAIL and the flags of fs, with --password-stdin,
// reads the password, and runs do with the operator.
func withPassword(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer,
	do func(ctx context.Context, op *operator, email, password string) error) error {
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	email, help, err := parseUserArgs(fs, args, stdout, stderr)
	if help || err != nil {
		return err
	}
	password, err := readPassword(stdin, stderr, *fromStdin)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	ctx, op, err := openOperator(ctx, getenv, userHashVars(), stderr)
	if err != nil {
		return err
	}
	defer op.close()
	return do(ctx, op, email, password)
}

// readPassword reads one line from stdin, or asks twice on a terminal.
func readPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("standard input is not a terminal; pass the password with --password-stdin")
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(stderr, "Repeat password: ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords do not match")
	}
	return string(p1), nil
}
