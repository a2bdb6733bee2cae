package testdb

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
)

// skipped counts the tests, and the PostgreSQL runs of tests, that this
// test binary skipped for want of PostgreSQL. It is package state because
// the skips happen deep in helpers that share nothing else, and Main
// reports it once, after every test has run.
var skipped atomic.Int64

// Main runs the package's tests, as a TestMain does, and then, when any
// needed PostgreSQL and was skipped, says so in one line, with how to run
// them. Without -v, go test keeps a passing package's output to itself,
// so the line goes to the terminal when there is one, else to stderr.
func Main(m *testing.M) int {
	code := m.Run()
	if n := skipped.Load(); n > 0 {
		w, closeW := reportWriter()
		defer closeW()
		fmt.Fprintf(w, "%s: PostgreSQL tests skipped (%d); %s\n", packageName(), n, howToEnable)
	}
	return code
}

// reportWriter is the terminal go test runs under, when it has one, else
// stderr.
func reportWriter() (io.Writer, func()) {
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			return tty, func() { tty.Close() }
		}
	}
	return os.Stderr, func() {}
}

// packageName is the import path of the package under test.
func packageName() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Path != "" {
		return strings.TrimSuffix(info.Path, ".test")
	}
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
}
