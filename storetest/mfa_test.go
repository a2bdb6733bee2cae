package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/sealed"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
	"widgetapi/mfa"
)

// factor turns on a second factor for u with the flows, as the auth
// service does, and returns the checker, its clock, the secret and the
// recovery codes.
func factor(t *testing.T, st testdb.Store, u *widgetapi.User) (*mfa.TOTP, *testclock.Clock, string, []string) {
	t.Helper()
	ctx := t.Context()
	box, err := sealed.New([][]byte{[]byte("storetest-secret-key-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(t0)
	chk := mfa.New(box, clk.Now)
	secret, sealedSecret, err := chk.NewSecret(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.EnrolTOTP(ctx, &widgetapi.TOTPFactor{UserID: u.ID, Secret: sealedSecret, CreatedAt: t0}, u.PasswordHash))
	code, _ := mfa.Code(secret, clk.Now())
	codes, hashes, err := mfa.RecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.ConfirmTOTP(ctx, u, code, chk, hashes, "", t0, nil))
	clk.Advance(30 * time.Second)
	return chk, clk, secret, codes
}

// challenge records a login waiting for its code and returns its hash.
func challenge(t *testing.T, st testdb.Store, u *widgetapi.User, token string, at time.Time) []byte {
	t.Helper()
	h := widgetapi.HashToken(token)
	if err := st.StartMFALogin(t.Context(), &widgetapi.MFAChallenge{TokenHash: h, UserID: u.ID,
		ExpiresAt: at.Add(widgetapi.MFATokenTTL), TriesLeft: widgetapi.MFATokenTries}); err != nil {
		t.Fatal(err)
	}
	return h
}

// opener opens session i of a second login step.
func opener(uses *[]widgetapi.FactorUse, i int) func(*widgetapi.User, widgetapi.FactorUse) (*widgetapi.Session, *widgetapi.Event, error) {
	return func(u *widgetapi.User, use widgetapi.FactorUse) (*widgetapi.Session, *widgetapi.Event, error) {
		*uses = append(*uses, use)
		return newSession(u.ID, i), nil, nil
	}
}

func TestTheSecondLoginStepConsumesWhatItAccepts(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		u := mustCreateUser(t, st, "factor@example.com", false)
		chk, clk, secret, codes := factor(t, st, u)
		if got, _ := st.FindUserByEmail(ctx, u.Email); !got.MFA {
			t.Fatal("the user's mfa is off after confirming")
		}
		var uses []widgetapi.FactorUse
		code, _ := mfa.Code(secret, clk.Now())

		// A wrong code spends a try; the fifth ends the challenge.
		h := challenge(t, st, u, "token-1", clk.Now())
		for i := 0; i < widgetapi.MFATokenTries; i++ {
			if _, err := st.FinishMFALogin(ctx, u.ID, h, "000000", chk, clk.Now(), opener(&uses, 0)); !errors.Is(err, widgetapi.ErrOTPMismatch) {
				t.Fatalf("try %d: %v, want a mismatch", i, err)
			}
		}
		if _, err := st.FinishMFALogin(ctx, u.ID, h, code, chk, clk.Now(), opener(&uses, 0)); widgetapi.ErrorMessage(err) != widgetapi.MsgLoginExpired {
			t.Fatalf("a sixth try: %v, want the login expired", err)
		}
		if _, err := st.FindMFALogin(ctx, h, clk.Now()); widgetapi.ErrorMessage(err) != widgetapi.MsgLoginExpired {
			t.Fatalf("the exhausted challenge is still found: %v", err)
		}

		// The right code: the session opens, the challenge and the code are used.
		h = challenge(t, st, u, "token-2", clk.Now())
		if got, err := st.FindMFALogin(ctx, h, clk.Now()); err != nil || got.ID != u.ID {
			t.Fatalf("find the challenge: %v %v", got, err)
		}
		if _, err := st.FinishMFALogin(ctx, u.ID, h, code, chk, clk.Now(), opener(&uses, 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishMFALogin(ctx, u.ID, h, code, chk, clk.Now(), opener(&uses, 2)); widgetapi.ErrorMessage(err) != widgetapi.MsgLoginExpired {
			t.Fatalf("the challenge used again: %v", err)
		}
		if _, err := st.FinishMFALogin(ctx, u.ID, challenge(t, st, u, "token-3", clk.Now()), code, chk, clk.Now(), opener(&uses, 2)); !errors.Is(err, widgetapi.ErrOTPMismatch) {
			t.Fatalf("the code used again: %v", err)
		}
		// A recovery code once; it says how many are left.
		if _, err := st.FinishMFALogin(ctx, u.ID, challenge(t, st, u, "token-4", clk.Now()), codes[3], chk, clk.Now(), opener(&uses, 3)); err != nil {
			t.Fatal(err)
		}
		if last := uses[len(uses)-1]; last.Kind != widgetapi.FactorRecoveryCode || last.RecoveryCodes != 9 {
			t.Errorf("use of a recovery code: %+v", last)
		}
		if _, err := st.FinishMFALogin(ctx, u.ID, challenge(t, st, u, "token-5", clk.Now()), codes[3], chk, clk.Now(), opener(&uses, 4)); !errors.Is(err, widgetapi.ErrOTPMismatch) {
			t.Fatalf("a recovery code used again: %v", err)
		}
		// Expired.
		h = challenge(t, st, u, "token-6", clk.Now())
		if _, err := st.FinishMFALogin(ctx, u.ID, h, codes[4], chk, clk.Now().Add(widgetapi.MFATokenTTL), opener(&uses, 5)); widgetapi.ErrorMessage(err) != widgetapi.MsgLoginExpired {
			t.Fatalf("an expired challenge: %v", err)
		}
		// A user disabled meanwhile does not log in, and keeps the code.
		h = challenge(t, st, u, "token-7", clk.Now())
		if _, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: new(true)}, t0, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishMFALogin(ctx, u.ID, h, codes[5], chk, clk.Now(), opener(&uses, 6)); widgetapi.ErrorCode(err) != widgetapi.EDISABLED {
			t.Fatalf("a disabled user's second step: %v", err)
		}
	})
}

func TestTurningTheFactorOffTakesItsCodesAndChallenges(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		u := mustCreateUser(t, st, "off@example.com", false)
		chk, clk, _, codes := factor(t, st, u)
		h := challenge(t, st, u, "pending", clk.Now())
		// A stale password hash: refused, nothing changes.
		if err := st.ChangeMFA(ctx, u, []byte("$2a$04$other"), codes[0], chk, nil, t0, nil); !errors.Is(err, widgetapi.ErrCredentialsChanged) {
			t.Fatalf("with a stale hash: %v", err)
		}
		if err := st.ChangeMFA(ctx, u, u.PasswordHash, "WRONG-CODE1", chk, nil, t0, nil); widgetapi.ErrorCode(err) != widgetapi.EINVALID {
			t.Fatalf("with a wrong code: %v", err)
		}
		// The admin reset: mfa false, sessions ended, codes and challenges gone.
		s := newSession(u.ID, 0)
		must(t, st.CreateSession(ctx, s, nil, nil))
		got, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{MFA: new(false)}, t0, nil)
		if err != nil || got.MFA {
			t.Fatalf("reset: %v %v", got, err)
		}
		if sub, _ := st.FindTokenSubject(ctx, u.PublicID, s.JTI); !sub.Revoked || sub.User.MFA {
			t.Errorf("after the reset: %+v", sub)
		}
		if _, err := st.FindMFALogin(ctx, h, clk.Now()); widgetapi.ErrorMessage(err) != widgetapi.MsgLoginExpired {
			t.Errorf("a pending login outlived the reset: %v", err)
		}
		if err := st.ChangeMFA(ctx, u, u.PasswordHash, codes[1], chk, nil, t0, nil); widgetapi.ErrorCode(err) != widgetapi.ECONFLICT {
			t.Errorf("turning off a factor that is off: %v", err)
		}
	})
}

// A login's second step and a change to the factor, at once, take turns:
// on PostgreSQL they lock the user's row first, then the challenge and the
// factor, so neither deadlocks the other.
func TestSecondStepsAndAFactorChangeAtOnce(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		for round := 0; round < 3; round++ {
			u := mustCreateUser(t, st, fmt.Sprintf("turns-%d@example.com", round), false)
			chk, clk, _, codes := factor(t, st, u)
			var hashes [][]byte
			for i := 0; i < 5; i++ {
				hashes = append(hashes, challenge(t, st, u, fmt.Sprintf("turns-%d-%d", round, i), clk.Now()))
			}
			errs := make(chan error, len(hashes)+1)
			var wg sync.WaitGroup
			for i, h := range hashes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var uses []widgetapi.FactorUse
					_, err := st.FinishMFALogin(ctx, u.ID, h, codes[i], chk, clk.Now(), opener(&uses, 10*round+i))
					errs <- err
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.ChangeMFA(ctx, u, u.PasswordHash, codes[9], chk, nil, t0, nil)
			}()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil && !errors.Is(err, widgetapi.ErrOTPMismatch) && widgetapi.ErrorMessage(err) != widgetapi.MsgLoginExpired {
					t.Errorf("round %d: %v", round, err)
				}
			}
		}
	})
}
