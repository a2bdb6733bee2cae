package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"widgetapi/internal/testbin"
	"widgetapi/internal/testdb"
)

// binary is the widgetapi binary, built once, statically as README.md
// says.
var binary string

func TestMain(m *testing.M) { testbin.Main(m, &binary, testdb.Main) }

// addAdmin makes admin@example.com, password change-me-please, in dir's
// database, as README.md's set-up does.
func addAdmin(t *testing.T, dir string, env []string) {
	t.Helper()
	cmd := exec.Command(binary, "user", "add", "admin@example.com", "--admin", "--password-stdin")
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader("change-me-please\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
}

// server is a running `widgetapi serve`.
type server = testbin.Server

// startServer starts `widgetapi serve` in dir on a free port, waits until
// it says where it listens, and kills it when the test ends if it still
// runs.
func startServer(t *testing.T, dir string, env []string) *server {
	t.Helper()
	return testbin.Start(t, binary, dir, env)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}
