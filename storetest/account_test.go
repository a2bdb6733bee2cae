package storetest

import (
	"sync"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/testdb"
)

// tokenMail is a fresh token of kind for the user with id, made at at,
// and a mail to carry it.
func tokenMail(kind string, userID int64, at time.Time) (string, widgetapi.TokenMail) {
	secret, tok := widgetapi.NewAccountToken(kind, userID, at, 30*time.Minute)
	return secret, widgetapi.TokenMail{Token: tok, Mail: &widgetapi.Mail{Kind: kind, Subject: "s", Text: secret, HTML: secret, QueuedAt: at}}
}

// Requests for a verification mail sent at once, by as many processes as
// the pool has connections, get exactly the hourly limit of mails: the
// flow counts in its transaction, after it locked the account.
func TestConcurrentResendsStopAtTheHourlyLimit(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		u := mustCreateUser(t, st, "limit@example.com", false)
		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, tm := tokenMail(widgetapi.TokenVerifyEmail, u.ID, t0)
				errs[i] = st.ResendVerification(t.Context(), tm, nil)
			})
		}
		close(start)
		wg.Wait()
		sent := 0
		for _, err := range errs {
			switch widgetapi.ErrorCode(err) {
			case "":
				sent++
			case widgetapi.ETOOMANY:
			default:
				t.Fatalf("resend: %v", err)
			}
		}
		if sent != widgetapi.MaxRequestedMailsPerHour {
			t.Fatalf("%d of %d concurrent resends went, want %d", sent, n, widgetapi.MaxRequestedMailsPerHour)
		}
		if got := len(testdb.Outbox(t, st, "limit@example.com")); got != sent {
			t.Fatalf("%d mails queued, want %d", got, sent)
		}
	})
}

// The newest token of a kind is the only one that works; a token works
// once, until it expires, and only for its kind.
func TestAccountTokensAreSupersededSingleUseAndBounded(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		u := mustCreateUser(t, st, "tokens@example.com", false)
		first, tm := tokenMail(widgetapi.TokenVerifyEmail, u.ID, t0)
		must(t, st.ResendVerification(ctx, tm, nil))
		second, tm := tokenMail(widgetapi.TokenVerifyEmail, u.ID, t0.Add(time.Minute))
		must(t, st.ResendVerification(ctx, tm, nil))
		at := t0.Add(2 * time.Minute)
		if _, err := st.VerifyEmail(ctx, widgetapi.HashAccountToken(first), at, nil); widgetapi.ErrorCode(err) != widgetapi.EINVALID {
			t.Fatalf("superseded token: %v", err)
		}
		if _, _, err := st.ConfirmEmailChange(ctx, widgetapi.HashAccountToken(second), at, nil); widgetapi.ErrorCode(err) != widgetapi.EINVALID {
			t.Fatalf("token of another kind: %v", err)
		}
		if _, err := st.VerifyEmail(ctx, widgetapi.HashAccountToken(second), t0.Add(31*time.Minute), nil); widgetapi.ErrorCode(err) != widgetapi.EINVALID {
			t.Fatalf("expired token: %v", err)
		}
		v, err := st.VerifyEmail(ctx, widgetapi.HashAccountToken(second), at, nil)
		if err != nil || !v.EmailVerified {
			t.Fatalf("the newest token: %v, %+v", err, v)
		}
		if _, err := st.VerifyEmail(ctx, widgetapi.HashAccountToken(second), at, nil); widgetapi.ErrorCode(err) != widgetapi.EINVALID {
			t.Fatalf("used token: %v", err)
		}
		if err := st.ResendVerification(ctx, tm, nil); widgetapi.ErrorCode(err) != widgetapi.ECONFLICT {
			t.Fatalf("resend for a verified address: %v", err)
		}
		// Rows older than an hour go when the next of their kind is made.
		for i := range 3 {
			_, tm := tokenMail(widgetapi.TokenPasswordReset, u.ID, t0.Add(time.Duration(i)*2*time.Hour))
			if _, err := st.RequestPasswordReset(ctx, u.Email, tm, nil); err != nil {
				t.Fatal(err)
			}
		}
		var rows int
		must(t, testdb.SQL(t, st).QueryRow(`SELECT count(*) FROM account_tokens WHERE kind = 'password_reset'`).Scan(&rows))
		if rows != 1 {
			t.Fatalf("%d reset tokens kept, want the newest only", rows)
		}
	})
}
