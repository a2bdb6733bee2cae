package storetest

import (
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/store"
	"widgetapi/internal/testdb"
	"widgetapi/postgres"
)

// A login reads the hash, spends bcrypt's time, then records its session:
// the store must refuse the session when the hash it matched has been
// replaced, or the user disabled, in the meantime.
func TestASessionNeedsTheCredentialItWasCheckedAgainst(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		u := mustCreateUser(t, st, "cred@example.com", false)
		old := u.PasswordHash

		// The hash it matched is still the user's: recorded.
		s := newSession(u.ID, 0)
		must(t, st.CreateSession(ctx, s, old, nil))
		// The password changed since: refused, nothing recorded.
		must(t, st.SetPassword(ctx, u.ID, old, []byte("$2a$04$new"), t0, nil, nil, nil))
		late := newSession(u.ID, 1)
		if err := st.CreateSession(ctx, late, old, nil); !errors.Is(err, widgetapi.ErrCredentialsChanged) {
			t.Fatalf("session with the replaced hash: %v, want ErrCredentialsChanged", err)
		}
		if sub, _ := st.FindTokenSubject(ctx, u.PublicID, late.JTI); !sub.NoSession {
			t.Fatal("a refused session was recorded")
		}
		// Disabled since: refused, and still refused once enabled again.
		if _, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: new(true)}, t0, nil); err != nil {
			t.Fatal(err)
		}
		during := newSession(u.ID, 2)
		if err := st.CreateSession(ctx, during, []byte("$2a$04$new"), nil); !errors.Is(err, widgetapi.ErrCredentialsChanged) {
			t.Fatalf("session of a disabled user: %v, want ErrCredentialsChanged", err)
		}
		if _, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: new(false)}, t0, nil); err != nil {
			t.Fatal(err)
		}
		if sub, _ := st.FindTokenSubject(ctx, u.PublicID, during.JTI); !sub.NoSession {
			t.Fatal("a session refused while disabled exists after the user was enabled again")
		}
		// A deleted user: the login is answered as for an unknown email.
		gone := mustCreateUser(t, st, "gone-cred@example.com", false)
		must(t, st.DeleteUser(ctx, gone.PublicID, "", nil))
		if err := st.CreateSession(ctx, newSession(gone.ID, 0), gone.PasswordHash, nil); !errors.Is(err, widgetapi.ErrUserGone) {
			t.Fatalf("session of a deleted user: %v, want ErrUserGone", err)
		}
	})
}

// Two password changes made with one current password: exactly one wins,
// the loser changes nothing, and a change for a disabled user with a next
// session is refused.
func TestOnePasswordChangeOfACurrentPasswordWins(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		for round := range 5 {
			u := mustCreateUser(t, st, "change"+string(rune('a'+round))+"@example.com", false)
			const n = 8
			var wins, lost atomic.Int32
			var winner atomic.Value
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					hash := []byte("$2a$04$change" + string(rune('a'+i)))
					next := newSession(0, i)
					switch err := st.SetPassword(ctx, u.ID, u.PasswordHash, hash, t0, next, nil, nil); {
					case err == nil:
						wins.Add(1)
						winner.Store(string(hash))
					case errors.Is(err, widgetapi.ErrCredentialsChanged):
						lost.Add(1)
					default:
						t.Errorf("change %d: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || lost.Load() != n-1 {
				t.Fatalf("round %d: %d changes won and %d lost, want 1 and %d", round, wins.Load(), lost.Load(), n-1)
			}
			got, err := st.FindUserByEmail(ctx, u.Email)
			if err != nil || string(got.PasswordHash) != winner.Load() {
				t.Fatalf("round %d: stored hash %q (%v), want the winner's %q", round, got.PasswordHash, err, winner.Load())
			}
			if list, _ := st.ListSessions(ctx, u.ID, t0); len(list) != 1 {
				t.Fatalf("round %d: %d live sessions, want the winner's one", round, len(list))
			}
		}
		u := mustCreateUser(t, st, "disabled-change@example.com", false)
		if _, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: new(true)}, t0, nil); err != nil {
			t.Fatal(err)
		}
		next := newSession(0, 0)
		if err := st.SetPassword(ctx, u.ID, u.PasswordHash, []byte("$2a$04$x"), t0, next, nil, nil); !errors.Is(err, widgetapi.ErrCredentialsChanged) {
			t.Fatalf("change with a next session for a disabled user: %v, want ErrCredentialsChanged", err)
		}
		// An operator's reset (no current hash, no session) still works.
		must(t, st.SetPassword(ctx, u.ID, nil, []byte("$2a$04$y"), t0, nil, nil, nil))
	})
}

// Logins keep recording sessions with the old hash, from many connections
// at once, while the password changes and the user is disabled and
// enabled again: once each change has committed, no session opened with
// the old hash may be live. Without the check in the session's own
// transaction, the logins that commit after the change stay live.
func TestLoginsRacingAPasswordChangeOrADisableLeaveNoLiveSession(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		for _, change := range []string{"password", "disable"} {
			t.Run(change, func(t *testing.T) {
				ctx := t.Context()
				u := mustCreateUser(t, st, "racing-"+change+"@example.com", false)
				old := u.PasswordHash
				stop := make(chan struct{})
				var opened sync.Map // jti → session recorded with the old hash
				var wg sync.WaitGroup
				var attempts atomic.Int64
				for range 8 {
					wg.Go(func() {
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							s := newSession(u.ID, i)
							attempts.Add(1)
							switch err := st.CreateSession(ctx, s, old, nil); {
							case err == nil:
								opened.Store(s.JTI, s)
							case errors.Is(err, widgetapi.ErrCredentialsChanged):
							default:
								t.Errorf("login: %v", err)
								return
							}
						}
					})
				}
				// Let logins run, change, and keep them running past it.
				waitFor(t, func() bool { return attempts.Load() >= 50 })
				switch change {
				case "password":
					must(t, st.SetPassword(ctx, u.ID, old, []byte("$2a$04$changed"), t0, nil, nil, nil))
				case "disable":
					if _, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: new(true)}, t0, nil); err != nil {
						t.Fatal(err)
					}
				}
				after := attempts.Load()
				waitFor(t, func() bool { return attempts.Load() >= after+100 })
				close(stop)
				wg.Wait()
				if change == "disable" {
					if _, err := st.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: new(false)}, t0, nil); err != nil {
						t.Fatal(err)
					}
				}
				live, total := 0, 0
				opened.Range(func(_, v any) bool {
					total++
					if sub, err := st.FindTokenSubject(ctx, u.PublicID, v.(*widgetapi.Session).JTI); err != nil || (!sub.NoSession && !sub.Revoked) {
						live++
					}
					return true
				})
				if live != 0 {
					t.Fatalf("%d of %d sessions opened with the old credential are live after the %s change", live, total, change)
				}
				t.Logf("%d logins, %d recorded before the change, all ended", attempts.Load(), total)
			})
		}
	})
}

// waitFor polls cond until it holds, failing after a generous minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// On PostgreSQL a login's session must wait for a password change that
// holds the user's row, then see its result: a login that read the old
// hash without waiting would commit a session the change's revocation,
// already under way, does not see.
func TestALoginWaitsForAPasswordChangeInFlight(t *testing.T) {
	url := testdb.FreshSchemaURL(t)
	ctx := t.Context()
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testdb.Migrate(t, db)
	st := store.New(db)
	u := mustCreateUser(t, st, "in-flight@example.com", false)

	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	change, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer change.Rollback()
	if _, err := change.ExecContext(ctx, `UPDATE users SET password_hash = 'new' WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.CreateSession(ctx, newSession(u.ID, 0), u.PasswordHash, nil) }()
	// Commit once the login waits for the row; a login that answers
	// before that did not wait.
	waitFor(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("the login answered (%v) while a password change held the user's row", err)
		default:
		}
		var waiting int
		err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%FROM users WHERE id = $2 FOR NO KEY UPDATE%'`).Scan(&waiting)
		return err == nil && waiting > 0
	})
	must(t, change.Commit())
	if err := <-done; !errors.Is(err, widgetapi.ErrCredentialsChanged) {
		t.Fatalf("login after the change committed: %v, want ErrCredentialsChanged", err)
	}
}
