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
	"strings"
	"syscall"

	_ "time/tzdata" // TZ works on machines without a zoneinfo database

	"github.com/joho/godotenv"

	"widgetapi/internal/config"
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

// entry is a command of the binary, or of a group of commands such as
// `user`: how it is called and what it does in one line, for --help.
type entry struct {
	name    string
	args    string
	summary string
	run     command
}

// commands are the binary's commands, in the order --help lists them; a
// group lists its own.
func commands() []entry {
	return []entry{
		{"serve", "[flags]", "apply migrations, then serve HTTP", runServe},
		{"migrate", "up|down|status", "manage the database schema", runMigrate},
		group("user", "manage user accounts"),
		group("widget", "import or export widgets"),
		group("keys", "list or rotate the token signing keys"),
		group("mail", "send a test mail"),
		{"backup", "[--force] PATH", "copy the live SQLite database to PATH", runBackup},
		{"healthcheck", "[--addr ADDR]", "exit 0 when /healthz answers 200", runHealthcheck},
		{"version", "", "print version, commit and Go version", func(_ context.Context, _ []string, _ func(string) string, _ io.Reader, stdout, _ io.Writer) error {
			return runVersion(stdout)
		}},
	}
}

// groups are the commands that have commands of their own, each group's
// table beside the others so that the whole command line reads in one place.
func groups() map[string][]entry {
	return map[string][]entry{
		"user": {
			{"add", "EMAIL [--admin] [--password-stdin]", "create a user", runUserAdd},
			{"passwd", "EMAIL [--password-stdin]", "set a password, ending every session", runUserPasswd},
			{"list", "[--email TEXT] [--admin=BOOL] [--disabled=BOOL]", "list users, one page at a time", runUserList},
			{"show", "EMAIL", "show one user", runUserShow},
			{"set", "EMAIL [--admin=BOOL] [--disabled=BOOL]", "set a user's admin and disabled flags", runUserSet},
			{"delete", "EMAIL [--transfer-to EMAIL]", "delete a user and their sessions", runUserDelete},
		},
		"widget": {
			{"import", "[--owner EMAIL] FILE", "load widgets from JSON Lines", runWidgetImport},
			{"export", "[FILE]", "write every widget as JSON Lines", runWidgetExport},
		},
		"keys": {
			{"list", "", "list signing keys and their states", runKeysList},
			{"rotate", "", "make the next signing key", runKeysRotate},
		},
		"mail": {
			{"test", "ADDRESS", "send one mail, not through the outbox", runMailTest},
		},
	}
}

// group is the command of a group, such as `user`: it runs the group's
// command that its first argument names (see runSubcommand).
func group(name, summary string) entry {
	return entry{name, "COMMAND", summary, func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
		return runSubcommand(ctx, args, getenv, stdin, stdout, stderr, name, groups()[name])
	}}
}

// usage lists every command, those of the groups one by one.
func usage() string {
	var b strings.Builder
	b.WriteString("widgetapi: a REST API with JWT authentication and admin-managed widgets.\n\nUsage:\n")
	for _, c := range commands() {
		if subs, ok := groups()[c.name]; ok {
			writeEntries(&b, "widgetapi "+c.name+" ", subs)
			continue
		}
		writeEntries(&b, "widgetapi ", []entry{c})
	}
	b.WriteString("\nRun 'widgetapi COMMAND --help' for the flags and environment of a command.\n")
	return b.String()
}

// writeEntries writes one line for each entry: its call, then its summary
// in a column, or on the next line when the call is too long for it.
func writeEntries(b *strings.Builder, prefix string, es []entry) {
	const column = 42
	for _, e := range es {
		call := strings.TrimSpace("  " + prefix + e.name + " " + e.args)
		if len(call)+2 > column {
			fmt.Fprintf(b, "  %s\n%s%s\n", call, strings.Repeat(" ", column), e.summary)
			continue
		}
		fmt.Fprintf(b, "  %-*s%s\n", column-2, call, e.summary)
	}
}

// run is the whole program. main supplies the process's environment, with
// the .env file under it, and its standard streams; run reads the
// environment only through getenv, so that tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string,
	stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return errUsage
	}
	switch args[0] {
	case "--version":
		return runVersion(stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage())
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "widgetapi: unknown command %q\n\n%s", args[0], usage())
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

// commandFlags is the flag set of a command whose --help prints usage,
// then its flags and the variables it reads.
func commandFlags(name, usage string, env vars) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), env.help())
	}
	return fs
}

// parseFlags parses a command's flags; --help prints its usage to stdout
// and stops the command successfully, a bad flag prints one line to stderr
// (see usageError).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (help bool, err error) {
	// Parse would print the error and the usage itself, to stderr even
	// for --help.
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return true, nil
	}
	if err != nil {
		return false, usageError(stderr, fs.Name(), "%v", err)
	}
	fs.SetOutput(stderr)
	return false, nil
}

// usageError prints what is wrong with a command line in one line, with
// where to read how it goes, and returns errUsage.
func usageError(stderr io.Writer, cmd, format string, args ...any) error {
	fmt.Fprintf(stderr, "widgetapi %s: %s (see 'widgetapi %s --help')\n", cmd, fmt.Sprintf(format, args...), cmd)
	return errUsage
}

// command is a subcommand of the binary: its arguments, the environment
// and the three streams.
type command func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error

// runSubcommand runs the command of the group that args[0] names. Asked
// for help it prints the group's usage to stdout; given no command, to
// stderr; given one the group does not have, it says so in one line that
// lists those it has. The last two return errUsage.
func runSubcommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer,
	group string, subs []entry) error {
	var b strings.Builder
	b.WriteString("Usage:\n")
	writeEntries(&b, "widgetapi "+group+" ", subs)
	fmt.Fprintf(&b, "\nRun 'widgetapi %s COMMAND --help' for what each does.\n", group)
	if len(args) == 0 {
		fmt.Fprint(stderr, b.String())
		return errUsage
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdin, stdout, stderr)
		}
	}
	if args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, b.String())
		return nil
	}
	names := make([]string, len(subs))
	for i, c := range subs {
		names[i] = c.name
	}
	return usageError(stderr, group, "unknown command %q; the commands are %s", args[0], strings.Join(names, ", "))
}

// vars are the environment variables a command reads: its --help lists
// them, and it sees no others (see config.Only).
type vars []string

// databaseVars are what opening the configured database reads, and more.
func databaseVars(more ...string) vars {
	return append(vars{"APP_ENV", "DATA_DIR", "DATABASE_URL", "DB_MAX_CONNS", "DB_TIMEOUT"}, more...)
}

// help is the environment section of the command's --help.
func (v vars) help() string { return "\n" + config.Help(v...) }

// only is getenv as the command sees it.
func (v vars) only(getenv func(string) string) func(string) string { return config.Only(getenv, v...) }
