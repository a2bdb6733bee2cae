// Package testbin builds the widgetapi binary for the tests that run it as
// a process, and gives them the environment to run it in.
package testbin

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main builds the binary, as README.md documents it (static, CGO_ENABLED=0),
// into a temporary directory, sets *binary to its path, runs the tests
// with run (a TestMain's m.Run, or a wrapper of it) and exits with their
// code, after removing the binary.
func Main(m *testing.M, binary *string, run func(*testing.M) int) {
	dir, err := os.MkdirTemp("", "widgetapi-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*binary = filepath.Join(dir, "widgetapi")
	build := exec.Command("go", "build", "-o", *binary, "widgetapi/cmd/widgetapi")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build widgetapi: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// Env is a minimal environment with vars, so the developer's own variables
// do not leak into the process under test. With TokenAlgVar set, the
// processes sign tokens with that TOKEN_ALG unless vars say otherwise
// (the last value of a variable wins).
func Env(vars ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC"}
	if alg := os.Getenv(TokenAlgVar); alg != "" {
		env = append(env, "TOKEN_ALG="+alg)
	}
	return append(env, vars...)
}

// TokenAlgVar names the variable that runs the suites whose behaviour
// depends on tokens (httpapi, and the built binary's: cmd/widgetapi,
// internal/e2e) under another TOKEN_ALG, so that CI checks every
// behaviour under asymmetric tokens too.
const TokenAlgVar = "WIDGETAPI_TEST_TOKEN_ALG"

// FreePort returns a port of 127.0.0.1 that nothing listens on now, for a
// process the test starts (which must be given its port) or a server the
// test wants to be absent.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
