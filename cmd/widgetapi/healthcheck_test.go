package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, baseEnv("APP_ENV=testing"))
	_, port, err := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// The address as serve was given it, from the flag or from ADDR; a
	// listen address on every interface is probed on the loopback.
	for _, args := range [][]string{
		{"healthcheck", "--addr", "127.0.0.1:" + port},
		{"healthcheck", "--addr", "0.0.0.0:" + port},
		{"healthcheck", "--addr", ":" + port},
	} {
		out, errOut, code := runCmd(t, dir, "", baseEnv("APP_ENV=testing"), args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "127.0.0.1:"+port+"/healthz answered 200") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if out, errOut, code := runCmd(t, dir, "", baseEnv("APP_ENV=testing", "ADDR=[::]:"+port), "healthcheck"); code != 0 {
		t.Errorf("ADDR=[::]:%s: exit %d, stdout %q, stderr %q", port, code, out, errOut)
	}

	// A closed port: nothing listens where the server was.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, errOut, code := runCmd(t, dir, "", baseEnv("ADDR="+closed), "healthcheck")
	wantOneLine(t, "healthcheck of a closed port", errOut, code, "connection refused")

	// Something that answers, but not 200.
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	_, errOut, code = runCmd(t, dir, "", baseEnv(), "healthcheck", "--addr", strings.TrimPrefix(sick.URL, "http://"))
	wantOneLine(t, "healthcheck of a 503", errOut, code, "503")

	// A port that accepts connections and never answers: the timeout.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	_, errOut, code = runCmd(t, dir, "", baseEnv(), "healthcheck", "--addr", hang.Addr().String(), "--timeout", "200ms")
	wantOneLine(t, "healthcheck of a silent port", errOut, code, "no answer within 200ms")

	out, _, code := runCmd(t, dir, "", baseEnv(), "healthcheck", "--help")
	if code != 0 || !strings.Contains(out, "Usage: widgetapi healthcheck") || !strings.Contains(out, "ADDR") {
		t.Fatalf("healthcheck --help: exit %d:\n%s", code, out)
	}
}
