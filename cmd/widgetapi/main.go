// Command widgetapi serves the widgetapi REST API and manages its database
// and users.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // TZ works on machines without a zoneinfo database

	"github.com/joho/godotenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv := withDotEnv(os.Getenv, ".env")
	if err := run(ctx, os.Args[1:], getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "widgetapi:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsage marks an error whose explanation has already been printed.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

const usage = `widgetapi: a REST API with JWT authentication and admin-managed widgets.

Usage:
  widgetapi serve [flags]                 apply pending migrations, then serve HTTP
  widgetapi migrate up|down|status        manage the database schema
  widgetapi user add EMAIL [--admin] [--password-stdin]
                                          create a user
  widgetapi widget import [--owner EMAIL] FILE
                                          load widgets from JSON Lines (- for stdin)
  widgetapi widget export [FILE]          write every widget as JSON Lines (default stdout)
  widgetapi backup [--force] PATH         copy the SQLite database to PATH while it serves
  widgetapi healthcheck [--addr ADDR]     exit 0 when /healthz answers 200
  widgetapi version                       print version, commit and Go version

Run 'widgetapi COMMAND --help' for the flags and environment of a command.
`

// run is the whole program. main supplies the process's environment, with
// the .env file under it, and its standard streams; run reads the
// environment only through getenv, so that tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string,
	stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "user":
		return runUser(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "widget":
		return runWidget(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		return runVersion(stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "widgetapi: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// withDotEnv layers the variables of a .env file under getenv: the real
// environment wins. A missing file is fine.
func withDotEnv(getenv func(string) string, path string) func(string) string {
	vars, err := godotenv.Read(path)
	if err != nil {
		return getenv
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return vars[k]
	}
}

// parseFlags parses a command's flags; --help prints its usage to stdout
// and stops the command successfully, a bad flag prints the error and the
// usage to stderr.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (help bool, err error) {
	// Parse would print the usage itself, to stderr even for --help.
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(stderr)
	err = fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return true, nil
	}
	if err != nil {
		fs.Usage()
		return false, errUsage
	}
	return false, nil
}

// command is a subcommand of the binary: its arguments, the environment
// and the three streams.
type command func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error

// runSubcommand runs the command of commands that args[0] names. Asked for
// help it prints usage to stdout; given anything else, to stderr, with
// errUsage.
func runSubcommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer,
	usage string, commands map[string]command) error {
	if len(args) > 0 {
		if cmd, ok := commands[args[0]]; ok {
			return cmd(ctx, args[1:], getenv, stdin, stdout, stderr)
		}
		if args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return nil
		}
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}
