package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"widgetapi/internal/testbin"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testlog"
)

// binary is the widgetapi binary, built once, statically as README.md
// says.
var binary string

func TestMain(m *testing.M) { testbin.Main(m, &binary, testdb.Main) }

// baseEnv is a minimal environment, so the developer's own variables do not
// leak into the process under test.
func baseEnv(vars ...string) []string { return testbin.Env(vars...) }

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
type server struct {
	URL    string
	cmd    *exec.Cmd
	stderr *testlog.Buffer
	done   chan error
}

// startServer starts `widgetapi serve` in dir on a free port, waits until
// it says where it listens, and kills it when the test ends if it still
// runs.
func startServer(t *testing.T, dir string, env []string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &testlog.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), " listening on "); ok {
				addr <- strings.TrimSpace(after)
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.URL = <-addr:
		return s
	case err := <-s.done:
		t.Fatalf("serve exited before listening: %v\n%s", err, s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not say where it listens; stderr:\n%s", s.stderr.String())
	}
	return nil
}

// stop interrupts the server and returns its exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not exit after SIGINT; stderr:\n%s", s.stderr.String())
	}
	return -1
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
