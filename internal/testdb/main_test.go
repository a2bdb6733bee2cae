package testdb

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// helperEnv marks the run of this test binary that TestSkipsAreReported
// starts.
const helperEnv = "WIDGETAPI_TESTDB_HELPER"

// Two tests that need PostgreSQL, and one that runs on every engine.
func TestHelperNeedsPostgres(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("run by TestSkipsAreReported")
	}
	for range 2 {
		t.Run("postgres", func(t *testing.T) { PostgresURL(t) })
	}
	if n := len(Engines(t)); n < 1 {
		t.Fatal("no engine")
	}
}

// A package whose tests skipped PostgreSQL says so once, with how to run
// them, without -v and away from a terminal; one that skipped none says
// nothing.
func TestSkipsAreReported(t *testing.T) {
	run := func(url string) string {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperNeedsPostgres$")
		cmd.Env = append(os.Environ(), helperEnv+"=1", PostgresURLVar+"="+url, "CI=")
		// A session of its own has no terminal, as under CI.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		return out.String()
	}
	want := "widgetapi/internal/testdb: PostgreSQL tests skipped (3); set " + PostgresURLVar +
		"=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them\n"
	if out := run(""); strings.Count(out, "PostgreSQL tests skipped") != 1 || !strings.Contains(out, want) {
		t.Fatalf("without %s the output is\n%s\nwant the line\n%s", PostgresURLVar, out, want)
	}
	if out := run("postgres://127.0.0.1:1/none"); strings.Contains(out, "skipped") {
		t.Fatalf("with %s set the output is\n%s", PostgresURLVar, out)
	}
}
