package auth

import (
	"context"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"widgetapi"
	"widgetapi/internal/testdb"
)

func newTimingService(t *testing.T, cost int) *Service {
	t.Helper()
	tokens, err := NewTokens(TokenConfig{Keys: [][]byte{[]byte("timing-test-key-0123456789abcdef0123")}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ServiceConfig{Users: testdb.OpenSQLite(t), Tokens: tokens, Cost: cost})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// An unknown email is compared against a hash of the same cost as real
// passwords, so it costs the same bcrypt work as a wrong password.
func TestDummyHashHasTheConfiguredCost(t *testing.T) {
	for _, cost := range []int{4, 6} {
		svc := newTimingService(t, cost)
		if got, err := bcrypt.Cost(svc.dummyHash); err != nil || got != cost {
			t.Fatalf("dummy hash cost = %d, %v; want %d", got, err, cost)
		}
	}
}

// The same, measured: the median time of a login for an unknown email and
// for a wrong password must be close. The ratio bound is generous, since
// the machine is shared; without the dummy comparison the ratio is about
// 1:1000 at this cost.
func TestUnknownEmailAndWrongPasswordTakeAboutTheSameTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison skipped in -short mode")
	}
	svc := newTimingService(t, 10)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, "known@example.com", "right-password", false); err != nil {
		t.Fatal(err)
	}
	measure := func(email string) time.Duration {
		start := time.Now()
		_, _, err := svc.Login(ctx, email, "wrong-password", widgetapi.Origin{})
		if widgetapi.ErrorCode(err) != widgetapi.EBADLOGIN {
			t.Fatalf("login %s: %v", email, err)
		}
		return time.Since(start)
	}
	var unknown, wrong []time.Duration
	for range 9 {
		unknown = append(unknown, measure("nobody@example.com"))
		wrong = append(wrong, measure("known@example.com"))
	}
	slices.Sort(unknown)
	slices.Sort(wrong)
	ratio := float64(unknown[4]) / float64(wrong[4])
	t.Logf("median unknown email %v, wrong password %v, ratio %.2f", unknown[4], wrong[4], ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Fatalf("unknown-email logins take %.2f× as long as wrong-password ones; want 0.5..2", ratio)
	}
}
