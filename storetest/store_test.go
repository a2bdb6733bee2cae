package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/testdb"
	"widgetapi/internal/testload"
)

var t0 = time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)

func newUser(email string, admin bool) *widgetapi.User {
	return &widgetapi.User{Email: email, PasswordHash: []byte("$2a$04$hash"), PublicID: uuid.NewString(),
		Admin: admin, RegisteredOn: t0}
}

func mustCreateUser(t *testing.T, st testdb.Store, email string, admin bool) *widgetapi.User {
	t.Helper()
	u := newUser(email, admin)
	must(t, st.CreateUser(t.Context(), u, nil, nil))
	return u
}

// newSession is a session of userID opened at t0 + i seconds, for an hour.
func newSession(userID int64, i int) *widgetapi.Session {
	at := t0.Add(time.Duration(i) * time.Second)
	return &widgetapi.Session{JTI: uuid.NewString(), UserID: userID, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		Origin: widgetapi.Origin{Address: "192.0.2.1", UserAgent: "test/1.0"}}
}

func mustCreateSession(t *testing.T, st testdb.Store, userID int64, i int) *widgetapi.Session {
	t.Helper()
	s := newSession(userID, i)
	must(t, st.CreateSession(t.Context(), s, nil, nil))
	return s
}

// must fails the test at once on err: for the steps that set a test up,
// whose failure leaves nothing to check.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := widgetapi.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestUsers(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		u := mustCreateUser(t, st, "alice@example.com", true)
		if u.ID == 0 {
			t.Fatal("CreateUser did not set ID")
		}
		got, err := st.FindUserByEmail(ctx, "alice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.PublicID != u.PublicID || !got.Admin || !got.RegisteredOn.Equal(t0) ||
			string(got.PasswordHash) != string(u.PasswordHash) {
			t.Fatalf("found %+v, want %+v", got, u)
		}
		wantCode(t, st.CreateUser(ctx, newUser("alice@example.com", false), nil, nil), widgetapi.ECONFLICT)
		_, err = st.FindUserByEmail(ctx, "nobody@example.com")
		wantCode(t, err, widgetapi.ENOTFOUND)
	})
}

func TestTokenSubjectAndSessions(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		// A user made with a first session, in one transaction.
		u := newUser("bob@example.com", false)
		first := newSession(0, 0)
		must(t, st.CreateUser(ctx, u, first, nil))
		if first.UserID != u.ID || first.Seq == 0 {
			t.Fatalf("first session %+v of user %d", first, u.ID)
		}
		got, err := st.FindTokenSubject(ctx, u.PublicID, first.JTI)
		if err != nil || got.Revoked || got.NoSession || got.User == nil || got.User.ID != u.ID || got.User.Email != u.Email {
			t.Fatalf("FindTokenSubject = %+v, %v", got, err)
		}
		// A jti that is not on record; another user's session; no user.
		if sub, err := st.FindTokenSubject(ctx, u.PublicID, uuid.NewString()); err != nil || !sub.NoSession || sub.User == nil {
			t.Fatalf("unknown session: %+v, %v", sub, err)
		}
		other := mustCreateUser(t, st, "eve@example.com", false)
		evesSession := mustCreateSession(t, st, other.ID, 1)
		if sub, err := st.FindTokenSubject(ctx, u.PublicID, evesSession.JTI); err != nil || !sub.NoSession {
			t.Fatalf("another user's session: %+v, %v", sub, err)
		}
		if sub, err := st.FindTokenSubject(ctx, uuid.NewString(), first.JTI); err != nil || sub.User != nil {
			t.Fatalf("unknown subject: %+v, %v", sub, err)
		}

		// Revoking one: only it, and only once; never another user's.
		second, third := mustCreateSession(t, st, u.ID, 2), mustCreateSession(t, st, u.ID, 2)
		now := t0.Add(time.Minute)
		if ok, err := st.RevokeSession(ctx, other.ID, second.JTI, now, nil); err != nil || ok {
			t.Fatalf("revoking another user's session: %v, %v", ok, err)
		}
		if ok, err := st.RevokeSession(ctx, u.ID, second.JTI, now, nil); err != nil || !ok {
			t.Fatalf("revoke: %v, %v", ok, err)
		}
		if ok, _ := st.RevokeSession(ctx, u.ID, second.JTI, now, nil); ok {
			t.Fatal("revoked twice")
		}
		if sub, _ := st.FindTokenSubject(ctx, u.PublicID, second.JTI); !sub.Revoked {
			t.Fatal("a revoked session reads as live")
		}
		// Listing: live ones, newest first, even within one second.
		list, err := st.ListSessions(ctx, u.ID, now)
		if err != nil || len(list) != 2 || list[0].JTI != third.JTI || list[1].JTI != first.JTI {
			t.Fatalf("sessions %v, %v; want the third then the first", list, err)
		}
		if s := list[0]; s.Address != "192.0.2.1" || s.UserAgent != "test/1.0" || !s.CreatedAt.Equal(third.CreatedAt) || !s.ExpiresAt.Equal(third.ExpiresAt) {
			t.Fatalf("listed %+v, want %+v", s, third)
		}
		// Others: every live one but the named.
		if n, err := st.RevokeSessions(ctx, u.ID, third.JTI, now, nil); err != nil || n != 1 {
			t.Fatalf("revoke others: %d, %v", n, err)
		}
		if list, _ := st.ListSessions(ctx, u.ID, now); len(list) != 1 || list[0].JTI != third.JTI {
			t.Fatalf("after others: %v", list)
		}
		// A password set revokes them all and records the next one alone.
		next := newSession(0, 3)
		must(t, st.SetPassword(ctx, u.ID, nil, []byte("$2a$04$new"), now, next, nil, nil))
		if list, _ := st.ListSessions(ctx, u.ID, now); len(list) != 1 || list[0].JTI != next.JTI {
			t.Fatalf("after a password change: %v", list)
		}
		if got, _ := st.FindUserByEmail(ctx, u.Email); string(got.PasswordHash) != "$2a$04$new" {
			t.Fatalf("hash %q", got.PasswordHash)
		}
		wantCode(t, st.SetPassword(ctx, 1<<40, nil, []byte("x"), now, nil, nil, nil), widgetapi.ENOTFOUND)
		// Global: every one.
		if n, err := st.RevokeSessions(ctx, u.ID, "", now, nil); err != nil || n != 1 {
			t.Fatalf("revoke all: %d, %v", n, err)
		}
		// Expired sessions are not listed, and are purged; live ones stay.
		if list, _ := st.ListSessions(ctx, other.ID, t0.Add(2*time.Hour)); len(list) != 0 {
			t.Fatalf("expired sessions listed: %v", list)
		}
		late := mustCreateSession(t, st, other.ID, 3600)
		n, err := st.PurgeSessions(ctx, t0.Add(90*time.Minute))
		if err != nil || n != 5 {
			t.Fatalf("purge = %d, %v; want the 5 that expired", n, err)
		}
		if sub, _ := st.FindTokenSubject(ctx, other.PublicID, late.JTI); sub.NoSession {
			t.Fatal("purge removed a session that has not expired")
		}
	})
}

func TestConcurrentCreateUserHasOneWinner(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		const n = 16
		errs := make([]error, n)
		testload.Each(n, func(i int) {
			errs[i] = st.CreateUser(t.Context(), newUser("race@example.com", false), nil, nil)
		})
		var ok, conflict int
		for _, err := range errs {
			switch widgetapi.ErrorCode(err) {
			case "":
				ok++
			case widgetapi.ECONFLICT:
				conflict++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || conflict != n-1 {
			t.Fatalf("ok=%d conflict=%d, want 1 and %d", ok, conflict, n-1)
		}
	})
}

func newWidget(name string, owner *widgetapi.User, i int) *widgetapi.Widget {
	return &widgetapi.Widget{Name: name, InfoURL: "https://example.com/" + name,
		CreatedAt: t0.Add(time.Duration(i) * time.Second), Deadline: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
		Owner: widgetapi.WidgetOwner{ID: owner.ID}}
}

// findWidget reads a widget as the API does, with reader's token; nil when
// there is no such widget.
func findWidget(t *testing.T, st testdb.Store, reader *widgetapi.User, name string) *widgetapi.Widget {
	t.Helper()
	_, w, err := st.FindWidgetForToken(t.Context(), reader.PublicID, uuid.NewString(), name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWidgets(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		w := newWidget("first", owner, 0)
		must(t, st.CreateWidget(ctx, w, nil))
		wantCode(t, st.CreateWidget(ctx, newWidget("first", owner, 1), nil), widgetapi.ECONFLICT)

		got := findWidget(t, st, owner, "first")
		if got.ID != w.ID || got.InfoURL != w.InfoURL || !got.CreatedAt.Equal(w.CreatedAt) ||
			!got.Deadline.Equal(w.Deadline) || got.Owner.Email != owner.Email || got.Owner.PublicID != owner.PublicID {
			t.Fatalf("found %+v, want %+v", got, w)
		}
		if missing := findWidget(t, st, owner, "missing"); missing != nil {
			t.Fatalf("found %+v for a name never created", missing)
		}

		// PutWidget on an existing name changes only info_url and deadline.
		other := mustCreateUser(t, st, "other-admin@example.com", true)
		newDeadline := time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC)
		put := newWidget("first", other, 2)
		put.InfoURL, put.Deadline = "https://new.example.com", newDeadline
		if created, err := st.PutWidget(ctx, put, widgetapi.Precondition{}, nil); err != nil || created {
			t.Fatalf("put on an existing name: created=%v, %v", created, err)
		}
		got = findWidget(t, st, owner, "first")
		if got.ID != w.ID || got.InfoURL != "https://new.example.com" || !got.Deadline.Equal(newDeadline) ||
			!got.CreatedAt.Equal(w.CreatedAt) || got.Owner.Email != owner.Email {
			t.Fatalf("after put: %+v", got)
		}
		// On a missing name it creates the widget as given.
		fresh := newWidget("second", other, 3)
		if created, err := st.PutWidget(ctx, fresh, widgetapi.Precondition{}, nil); err != nil || !created || fresh.ID == 0 {
			t.Fatalf("put on a missing name: created=%v id=%d, %v", created, fresh.ID, err)
		}
		if got := findWidget(t, st, other, "second"); got == nil || got.ID != fresh.ID || got.Owner.Email != other.Email {
			t.Fatalf("after put on a missing name: %+v", got)
		}
		must(t, st.DeleteWidget(ctx, "first", widgetapi.Precondition{}, nil))
		wantCode(t, st.DeleteWidget(ctx, "first", widgetapi.Precondition{}, nil), widgetapi.ENOTFOUND)
	})
}

// FindWidgetForToken must agree with FindTokenSubject, and return the
// widget as it was stored, in every combination of user, revocation and widget.
func TestFindWidgetForTokenAgreesWithTheSeparateReads(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "owner@example.com", true)
		reader := mustCreateUser(t, st, "reader@example.com", false)
		shown := newWidget("shown", owner, 0)
		must(t, st.CreateWidget(ctx, shown, nil))
		shown.Owner = widgetapi.WidgetOwner{ID: owner.ID, Email: owner.Email, PublicID: owner.PublicID}
		live, revoked := mustCreateSession(t, st, reader.ID, 0).JTI, mustCreateSession(t, st, reader.ID, 1).JTI
		ownerLive := mustCreateSession(t, st, owner.ID, 2).JTI
		if ok, err := st.RevokeSession(ctx, reader.ID, revoked, t0, nil); err != nil || !ok {
			t.Fatal(ok, err)
		}
		for _, tc := range []struct {
			name, publicID, jti, widget string
		}{
			{"user and widget", reader.PublicID, live, "shown"},
			{"the owner reads it", owner.PublicID, ownerLive, "shown"},
			{"no such widget", reader.PublicID, live, "missing"},
			{"revoked token", reader.PublicID, revoked, "shown"},
			{"revoked token, no widget", reader.PublicID, revoked, "missing"},
			{"no session on record", reader.PublicID, uuid.NewString(), "shown"},
			{"another user's session", owner.PublicID, live, "shown"},
			{"no such user", uuid.NewString(), live, "shown"},
			{"no such user nor widget", uuid.NewString(), live, "missing"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sub, w, err := st.FindWidgetForToken(ctx, tc.publicID, tc.jti, tc.widget)
				want, wantErr := st.FindTokenSubject(ctx, tc.publicID, tc.jti)
				if err != nil || wantErr != nil {
					t.Fatalf("errors %v and %v", err, wantErr)
				}
				if want.User == nil {
					// No such user: the statement matches no row at all.
					if sub.User != nil || w != nil {
						t.Fatalf("for no user it returned user %+v and widget %+v", sub.User, w)
					}
					return
				}
				u, wantU := sub.User, want.User
				if u == nil || u.ID != wantU.ID || u.Email != wantU.Email || !u.RegisteredOn.Equal(wantU.RegisteredOn) ||
					u.Admin != wantU.Admin || u.PublicID != wantU.PublicID || sub.Revoked != want.Revoked || sub.NoSession != want.NoSession {
					t.Fatalf("subject %+v (user %+v), want %+v (user %+v)", sub, u, want, wantU)
				}
				if tc.widget == "missing" {
					if w != nil {
						t.Fatalf("widget %+v, want none", w)
					}
					return
				}
				if w == nil || w.ID != shown.ID || w.Name != shown.Name || w.InfoURL != shown.InfoURL ||
					!w.CreatedAt.Equal(shown.CreatedAt) || !w.Deadline.Equal(shown.Deadline) || w.Owner != shown.Owner {
					t.Fatalf("widget %+v, want %+v", w, shown)
				}
			})
		}
	})
}

func TestFindWidgetsPagesInCreationOrderWithTotal(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		items, total, err := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 5})
		if err != nil || total != 0 || len(items) != 0 {
			t.Fatalf("empty: %d items, total %d, %v", len(items), total, err)
		}
		for i := range 7 {
			must(t, st.CreateWidget(ctx, newWidget(fmt.Sprintf("w%d", i), owner, i), nil))
		}
		for _, tc := range []struct {
			page, size int
			want       []string
		}{
			{1, 5, []string{"w0", "w1", "w2", "w3", "w4"}},
			{2, 5, []string{"w5", "w6"}},
			{3, 5, nil},
			{1, 10, []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6"}},
		} {
			items, total, err := st.FindWidgets(ctx, widgetapi.Page{Number: tc.page, Size: tc.size})
			if err != nil || total != 7 {
				t.Fatalf("page %d/%d: total %d, %v", tc.page, tc.size, total, err)
			}
			var names []string
			for _, w := range items {
				names = append(names, w.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.want) {
				t.Errorf("page %d/%d = %v, want %v", tc.page, tc.size, names, tc.want)
			}
		}
		must(t, st.DeleteWidget(ctx, "w3", widgetapi.Precondition{}, nil))
		if _, total, _ := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 5}); total != 6 {
			t.Fatalf("total after delete = %d, want 6", total)
		}
	})
}

// Every migration can be undone and applied again, on both engines, with
// data in the tables: `widgetapi migrate down` must work for each step,
// down to an empty database, and `migrate up` must bring it all back.
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		must(t, st.CreateWidget(ctx, newWidget("kept", owner, 0), nil))
		p, err := st.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		sources := p.ListSources()
		// Down one step at a time, to nothing.
		for i := len(sources) - 1; i >= 0; i-- {
			if _, err := p.Down(ctx); err != nil {
				t.Fatalf("down from %s: %v", sources[i].Path, err)
			}
		}
		if v, err := p.GetDBVersion(ctx); err != nil || v != 0 {
			t.Fatalf("version after every down: %d, %v", v, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if v, err := p.GetDBVersion(ctx); err != nil || v != sources[len(sources)-1].Version {
			t.Fatalf("version after up: %d, %v", v, err)
		}
		if pending, err := p.HasPending(ctx); err != nil || pending {
			t.Fatalf("pending=%v err=%v after up", pending, err)
		}
		// The schema works again: a user and a widget can be created, and
		// the widget counted.
		owner = mustCreateUser(t, st, "after@example.com", true)
		must(t, st.CreateWidget(ctx, newWidget("after", owner, 1), nil))
		if _, total, err := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 5}); err != nil || total != 1 {
			t.Fatalf("after down and up: total %d, %v", total, err)
		}
	})
}

// A bulk create inserts in order, skips taken names (stored ones and
// repeats within the batch), and keeps the total exact.
func TestCreateWidgetsInBulk(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		must(t, st.CreateWidget(ctx, newWidget("taken", owner, 0), nil))
		if inserted, err := st.CreateWidgets(ctx, nil); err != nil || len(inserted) != 0 {
			t.Fatalf("empty batch: %v, %v", inserted, err)
		}
		var batch []*widgetapi.Widget
		for i, name := range []string{"a", "taken", "b", "a", "c"} {
			batch = append(batch, newWidget(name, owner, i+1))
		}
		inserted, err := st.CreateWidgets(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, false, true, false, true}; !slices.Equal(inserted, want) {
			t.Fatalf("inserted %v, want %v", inserted, want)
		}
		if !(batch[0].ID < batch[2].ID && batch[2].ID < batch[4].ID) {
			t.Fatalf("ids %d, %d, %d are not in the batch's order", batch[0].ID, batch[2].ID, batch[4].ID)
		}
		items, total, err := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 10})
		if err != nil || total != 4 {
			t.Fatalf("total %d, %v; want 4", total, err)
		}
		var names []string
		for _, w := range items {
			names = append(names, w.Name)
		}
		if want := []string{"taken", "a", "b", "c"}; !slices.Equal(names, want) {
			t.Fatalf("listed %v, want %v", names, want)
		}
		if got := findWidget(t, st, owner, "a"); got == nil || got.InfoURL != batch[0].InfoURL {
			t.Fatalf("a is %+v, want the batch's first", got)
		}
		if err := st.Analyze(ctx); err != nil {
			t.Fatalf("analyze: %v", err)
		}
	})
}

// Purges run by many processes at once delete each expired session once
// between them, fail for none of them, and leave the live ones.
func TestPurgeSessionsFromManyAtOnce(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		u := mustCreateUser(t, st, "many@example.com", false)
		const expired, live = 2500, 50
		for i := range expired + live {
			s := newSession(u.ID, 0)
			if i >= expired {
				s.ExpiresAt = t0.Add(24 * time.Hour)
			}
			must(t, st.CreateSession(ctx, s, nil, nil))
		}
		if total := purgeTogether(t, 8, func() (int64, error) { return st.PurgeSessions(ctx, t0.Add(2*time.Hour)) }); total != expired {
			t.Fatalf("purged %d between them, want %d", total, expired)
		}
		if list, err := st.ListSessions(ctx, u.ID, t0.Add(2*time.Hour)); err != nil || len(list) != live {
			t.Fatalf("%d live sessions left, %v; want %d", len(list), err, live)
		}
	})
}

// A write for a user deleted before it ran fails with ErrUserGone on every
// engine: it is answered as the user's next request, never as a 500.
func TestWritesForADeletedUserFailAsUserGone(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		gone := mustCreateUser(t, st, "gone@example.com", false)
		must(t, st.DeleteUser(ctx, gone.PublicID, "", nil))
		_, putErr := st.PutWidget(ctx, newWidget("put", gone, 2), widgetapi.Precondition{}, nil)
		for what, err := range map[string]error{
			"create session": st.CreateSession(ctx, newSession(gone.ID, 0), nil, nil),
			"create widget":  st.CreateWidget(ctx, newWidget("create", gone, 1), nil),
			"put widget":     putErr,
		} {
			if !errors.Is(err, widgetapi.ErrUserGone) || widgetapi.ErrorCode(err) != widgetapi.EUNAUTHORIZED ||
				widgetapi.ErrorMessage(err) != widgetapi.MsgInvalidToken {
				t.Fatalf("%s: %v", what, err)
			}
		}
	})
}

// DeleteUser checks transferTo whenever it is given, not only when there
// are widgets to move.
func TestDeleteUserChecksTheHeirWithNothingToMove(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		admin := mustCreateUser(t, st, "admin@example.com", true)
		plain := mustCreateUser(t, st, "plain@example.com", false)
		other := mustCreateUser(t, st, "other@example.com", false)
		for _, heir := range []string{other.PublicID, plain.PublicID, uuid.NewString(), "not-a-public-id"} {
			err := st.DeleteUser(ctx, plain.PublicID, heir, nil)
			var de *widgetapi.Error
			if !errors.As(err, &de) || de.Code != widgetapi.EINVALID || de.Fields["transfer_to"] == "" {
				t.Fatalf("transfer to %s: %v", heir, err)
			}
		}
		if _, err := st.FindUser(ctx, plain.PublicID); err != nil {
			t.Fatalf("a refused delete deleted: %v", err)
		}
		must(t, st.DeleteUser(ctx, plain.PublicID, admin.PublicID, nil))
	})
}

// purgeTogether runs purge from n goroutines at once, as n processes'
// background purges would, and returns the rows they deleted between them.
func purgeTogether(t *testing.T, n int, purge func() (int64, error)) int64 {
	t.Helper()
	var wg sync.WaitGroup
	var total atomic.Int64
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deleted, err := purge()
			if err != nil {
				errs <- err
			}
			total.Add(deleted)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return total.Load()
}
