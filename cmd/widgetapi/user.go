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
	"widgetapi/auth"
	"widgetapi/internal/config"
)

func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			fmt.Fprint(stdout, userUsage)
			return nil
		}
		fmt.Fprint(stderr, userUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	admin := fs.Bool("admin", false, "make the user an administrator")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), userUsage+"\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n"+config.Help())
	}
	// Flags may come before or after EMAIL.
	var email string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		email, rest = rest[0], rest[1:]
	}
	if help, err := parseFlags(fs, rest, stdout, stderr); help || err != nil {
		return err
	}
	if email == "" && fs.NArg() > 0 {
		email = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return errUsage
		}
	}
	if email == "" || fs.NArg() > 0 {
		fs.SetOutput(stderr)
		fs.Usage()
		return errUsage
	}

	password, err := readPassword(stdin, stderr, *fromStdin)
	if err != nil {
		return err
	}
	cfg, st, err := openConfigured(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := migrateUp(ctx, st); err != nil {
		return err
	}
	// CreateUser signs nothing, so the service needs no real key or lifetime.
	svc, err := auth.NewService(auth.ServiceConfig{Users: st, Cost: cfg.BcryptCost, Now: time.Now})
	if err != nil {
		return err
	}
	u, err := svc.CreateUser(ctx, email, password, *admin)
	if err != nil {
		var de *widgetapi.Error
		if errors.As(err, &de) && de.Code == widgetapi.EINVALID {
			var why []string
			for _, f := range []string{"email", "password"} {
				if m, ok := de.Fields[f]; ok {
					why = append(why, f+": "+m)
				}
			}
			return fmt.Errorf("user add: %s", strings.Join(why, "; "))
		}
		return fmt.Errorf("user add: %s", widgetapi.ErrorMessage(err))
	}
	role := "user"
	if u.Admin {
		role = "admin"
	}
	fmt.Fprintf(stdout, "created %s %s (public_id %s)\n", role, u.Email, u.PublicID)
	return nil
}

const userUsage = `Usage: widgetapi user add EMAIL [--admin] [--password-stdin]

Creates a user with the same validation as POST /api/v1/auth/register.
The password is asked for twice without echo, or read as one line from
standard input with --password-stdin. A duplicate or invalid email exits
non-zero with a one-line reason.
`

// readPassword reads one line from stdin, or asks twice on a terminal.
func readPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("user add: --password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("user add: standard input is not a terminal; pass the password with --password-stdin")
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("user add: read password: %w", err)
	}
	fmt.Fprint(stderr, "Repeat password: ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("user add: read password: %w", err)
	}
	if string(p1) != string(p2) {
		return "", errors.New("user add: the passwords do not match")
	}
	return string(p1), nil
}
