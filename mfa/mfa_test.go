package mfa

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/sealed"
	"widgetapi/internal/testclock"
)

func newTOTP(t *testing.T, keys ...string) (*TOTP, *testclock.Clock) {
	t.Helper()
	var secrets [][]byte
	for _, k := range keys {
		secrets = append(secrets, []byte(k))
	}
	box, err := sealed.New(secrets)
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	return New(box, clk.Now), clk
}

func TestCodesMatchWithinOneStepAndAfterTheLastOnly(t *testing.T) {
	tp, clk := newTOTP(t, "first-secret-key-0123456789abcdef")
	secret, sealedSecret, err := tp.NewSecret(7)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secret) {
		t.Fatalf("secret %q is not 160 bits of base32", secret)
	}
	now := Step(clk.Now())
	for _, c := range []struct {
		offset int64
		after  int64
		ok     bool
	}{
		{0, 0, true}, {-1, 0, true}, {1, 0, true}, {-2, 0, false}, {2, 0, false},
		{0, now, false}, {1, now, true}, {-1, now - 1, false},
	} {
		code, _ := Code(secret, time.Unix((now+c.offset)*30, 0))
		step, ok, err := tp.MatchTOTP(sealedSecret, 7, code, c.after)
		if err != nil || ok != c.ok || ok && step != now+c.offset {
			t.Errorf("code of step %+d after %d: step %d ok %v err %v, want ok %v", c.offset, c.after-now, step-now, ok, err, c.ok)
		}
	}
	// Sealed for user 7, it does not open as another's.
	code, _ := Code(secret, clk.Now())
	if _, _, err := tp.MatchTOTP(sealedSecret, 8, code, 0); err == nil {
		t.Error("a secret sealed for one user opened for another")
	}
	// A rotated SECRET_KEY list (the new key first) still opens it.
	rotated, _ := newTOTP(t, "second-secret-key-0123456789abcdef", "first-secret-key-0123456789abcdef")
	if _, ok, err := rotated.MatchTOTP(sealedSecret, 7, code, 0); !ok || err != nil {
		t.Errorf("after rotation: ok %v err %v", ok, err)
	}
	if _, ok, _ := tp.MatchTOTP(sealedSecret, 7, "12345a", 0); ok {
		t.Error("a code that is not six digits matched")
	}
}

func TestTheURLIsTheContracts(t *testing.T) {
	got := URL("alice+tag@example.com", "JBSWY3DPEHPK3PXP")
	want := "otpauth://totp/widgetapi:alice+tag@example.com?secret=JBSWY3DPEHPK3PXP&issuer=widgetapi&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("URL = %q\nwant  %q", got, want)
	}
}

func TestRecoveryCodesAreTenDistinctAndHashedCanonically(t *testing.T) {
	codes, hashes, err := RecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != widgetapi.RecoveryCodes || len(hashes) != len(codes) {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !regexp.MustCompile(`^[A-Z2-7]{5}-[A-Z2-7]{5}$`).MatchString(c) || seen[c] {
			t.Errorf("code %q", c)
		}
		seen[c] = true
		typed := string(widgetapi.HashRecoveryCode(" " + c[:5] + " " + c[6:]))
		if lower := strings.ToLower(c); string(widgetapi.HashRecoveryCode(lower)) != string(hashes[i]) || typed != string(hashes[i]) {
			t.Errorf("code %q does not hash as typed", c)
		}
	}
	tok, err := NewToken()
	if err != nil || len(tok) != 43 {
		t.Errorf("token %q (%v)", tok, err)
	}
}
