package testbin

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"widgetapi/internal/testlog"
)

// Server is a running `widgetapi serve` process, killed when its test ends
// if it still runs.
type Server struct {
	t      testing.TB
	Cmd    *exec.Cmd
	URL    string
	Stderr *testlog.Buffer
	// Done receives the process's exit, once.
	Done chan error
}

// Pending is a launched server that has not yet said where it listens;
// Lines are its standard output, a line at a time.
type Pending struct {
	Server *Server
	Lines  chan string
}

// Start starts binary's `serve` in dir with env on a free port and waits
// until it says where it listens.
func Start(t testing.TB, binary, dir string, env []string) *Server {
	t.Helper()
	return Launch(t, binary, dir, env).Ready()
}

// Launch starts binary's `serve` in dir with env on a free port, without
// waiting for it.
func Launch(t testing.TB, binary, dir string, env []string) *Pending {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Cmd: cmd, Stderr: &testlog.Buffer{}, Done: make(chan error, 1)}
	cmd.Stderr = s.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.Done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.Done
		}
	})
	return &Pending{Server: s, Lines: lines}
}

// Ready waits until the server says where it listens.
func (p *Pending) Ready() *Server {
	s, t := p.Server, p.Server.t
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				t.Fatalf("serve exited before listening; stderr:\n%s", s.Stderr.String())
			}
			if _, after, found := strings.Cut(line, " listening on "); found {
				s.URL = strings.TrimSpace(after)
				go func() {
					for range p.Lines {
					}
				}()
				return s
			}
		case <-timeout:
			t.Fatalf("serve did not report its address; stderr:\n%s", s.Stderr.String())
		}
	}
}

// Stop sends sig and returns the exit code, -1 for a process a signal
// ended.
func (s *Server) Stop(sig os.Signal) int {
	s.t.Helper()
	if err := s.Cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case err := <-s.Done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			s.t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		s.t.Fatalf("serve did not exit after %v; stderr:\n%s", sig, s.Stderr.String())
	}
	return -1
}

// Terminate stops the server with SIGTERM and fails the test unless it
// shuts down cleanly, exiting 0.
func (s *Server) Terminate() {
	s.t.Helper()
	if code := s.Stop(syscall.SIGTERM); code != 0 {
		s.t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, s.Stderr.String())
	}
}
