package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"widgetapi/internal/testbin"
)

// README.md's "Tokens other services can verify" runs as written: the
// service started with the variables of its first block; then the JWKS,
// the example verifier offline, introspection, a logout, and the verifier
// with revocation refusing the logged-out token, exiting 1 as the README
// says.
func TestREADMETokensOtherServicesCanVerify(t *testing.T) {
	blocks := readmeBlocks(t, "Tokens other services can verify")
	if len(blocks) != 3 {
		t.Fatalf("README.md: %d blocks under Tokens other services can verify, want 3", len(blocks))
	}
	var vars []string
	for _, f := range strings.Fields(blocks[0]) {
		if strings.Contains(f, "=") {
			vars = append(vars, f)
		}
	}
	if len(vars) != 2 || !strings.HasSuffix(blocks[0], "go run ./cmd/widgetapi serve\n") {
		t.Fatalf("the first block does not start the service as this test does: %q", blocks[0])
	}
	dir := t.TempDir()
	s := startServer(t, dir, testbin.Env(vars...))
	if n := strings.Count(blocks[1], "http://127.0.0.1:5000"); n != 1 {
		t.Fatalf("%d addresses of the server in the second block, want 1", n)
	}
	cmd := exec.Command("bash", "-c", strings.ReplaceAll(blocks[1], "http://127.0.0.1:5000", s.URL))
	cmd.Dir = dir
	cmd.Env = append(testbin.Env(), "PATH="+goShim(t))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the session: %v, want exit status 1 from the last command\n%s", err, out)
	}
	for _, want := range []string{
		`{"keys":[{"kty":"OKP","crv":"Ed25519"`, // the JWKS
		`"sub": "`,                              // the verifier's claims, offline
		`{"active":true,"sub":"`,                // introspection
		`"message":"successfully logged out"`,   // the logout
		"verifier: token is not active\n",       // the verifier with revocation
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the session's output lacks %q:\n%s", want, out)
		}
	}
}
