package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/testdb"
)

var t0 = time.Date(2026, 11, 28, 15, 13, 2, 0, time.UTC)

func forEachEngine(t *testing.T, fn func(t *testing.T, st testdb.Store)) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

func newUser(email string, admin bool) *widgetapi.User {
	return &widgetapi.User{Email: email, PasswordHash: []byte("$2a$04$hash"), PublicID: uuid.NewString(),
		Admin: admin, RegisteredOn: t0}
}

func mustCreateUser(t *testing.T, st testdb.Store, email string, admin bool) *widgetapi.User {
	t.Helper()
	u := newUser(email, admin)
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := widgetapi.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
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
		wantCode(t, st.CreateUser(ctx, newUser("alice@example.com", false)), widgetapi.ECONFLICT)
		_, err = st.FindUserByEmail(ctx, "nobody@example.com")
		wantCode(t, err, widgetapi.ENOTFOUND)
	})
}

func TestTokenSubjectAndRevocation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		u := mustCreateUser(t, st, "bob@example.com", false)
		jti := uuid.NewString()
		got, err := st.FindTokenSubject(ctx, u.PublicID, jti)
		if err != nil || got.Revoked || got.User == nil || got.User.ID != u.ID || got.User.Email != u.Email {
			t.Fatalf("FindTokenSubject = %+v, %v", got, err)
		}
		if err := st.RevokeToken(ctx, jti, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeToken(ctx, jti, t0.Add(time.Hour)); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if sub, err := st.FindTokenSubject(ctx, u.PublicID, jti); err != nil || !sub.Revoked {
			t.Fatalf("after revoke: %+v, %v", sub, err)
		}
		// No such user: no error, and no user.
		if sub, err := st.FindTokenSubject(ctx, uuid.NewString(), jti); err != nil || sub.User != nil {
			t.Fatalf("unknown subject: %+v, %v", sub, err)
		}

		other := uuid.NewString()
		if err := st.RevokeToken(ctx, other, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := st.PurgeRevokedTokens(ctx, t0.Add(90*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want 1", n, err)
		}
		if sub, _ := st.FindTokenSubject(ctx, u.PublicID, other); !sub.Revoked {
			t.Fatal("purge removed a revocation that has not expired")
		}
	})
}

func TestConcurrentCreateUserHasOneWinner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		const n = 16
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.CreateUser(context.Background(), newUser("race@example.com", false))
			}()
		}
		wg.Wait()
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
	_, w, err := st.FindWidgetForToken(context.Background(), reader.PublicID, uuid.NewString(), name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWidgets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		w := newWidget("first", owner, 0)
		if err := st.CreateWidget(ctx, w); err != nil {
			t.Fatal(err)
		}
		wantCode(t, st.CreateWidget(ctx, newWidget("first", owner, 1)), widgetapi.ECONFLICT)

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
		if created, err := st.PutWidget(ctx, put); err != nil || created {
			t.Fatalf("put on an existing name: created=%v, %v", created, err)
		}
		got = findWidget(t, st, owner, "first")
		if got.ID != w.ID || got.InfoURL != "https://new.example.com" || !got.Deadline.Equal(newDeadline) ||
			!got.CreatedAt.Equal(w.CreatedAt) || got.Owner.Email != owner.Email {
			t.Fatalf("after put: %+v", got)
		}
		// On a missing name it creates the widget as given.
		fresh := newWidget("second", other, 3)
		if created, err := st.PutWidget(ctx, fresh); err != nil || !created || fresh.ID == 0 {
			t.Fatalf("put on a missing name: created=%v id=%d, %v", created, fresh.ID, err)
		}
		if got := findWidget(t, st, other, "second"); got == nil || got.ID != fresh.ID || got.Owner.Email != other.Email {
			t.Fatalf("after put on a missing name: %+v", got)
		}
		if err := st.DeleteWidget(ctx, "first"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, st.DeleteWidget(ctx, "first"), widgetapi.ENOTFOUND)
	})
}

// FindWidgetForToken must agree with FindTokenSubject, and return the
// widget as it was stored, in every combination of user, revocation and widget.
func TestFindWidgetForTokenAgreesWithTheSeparateReads(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		owner := mustCreateUser(t, st, "owner@example.com", true)
		reader := mustCreateUser(t, st, "reader@example.com", false)
		shown := newWidget("shown", owner, 0)
		if err := st.CreateWidget(ctx, shown); err != nil {
			t.Fatal(err)
		}
		shown.Owner = widgetapi.WidgetOwner{ID: owner.ID, Email: owner.Email, PublicID: owner.PublicID}
		live, revoked := uuid.NewString(), uuid.NewString()
		if err := st.RevokeToken(ctx, revoked, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, publicID, jti, widget string
		}{
			{"user and widget", reader.PublicID, live, "shown"},
			{"the owner reads it", owner.PublicID, live, "shown"},
			{"no such widget", reader.PublicID, live, "missing"},
			{"revoked token", reader.PublicID, revoked, "shown"},
			{"revoked token, no widget", reader.PublicID, revoked, "missing"},
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
					u.Admin != wantU.Admin || u.PublicID != wantU.PublicID || sub.Revoked != want.Revoked {
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
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		items, total, err := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 5})
		if err != nil || total != 0 || len(items) != 0 {
			t.Fatalf("empty: %d items, total %d, %v", len(items), total, err)
		}
		for i := range 7 {
			if err := st.CreateWidget(ctx, newWidget(fmt.Sprintf("w%d", i), owner, i)); err != nil {
				t.Fatal(err)
			}
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
		if err := st.DeleteWidget(ctx, "w3"); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 5}); total != 6 {
			t.Fatalf("total after delete = %d, want 6", total)
		}
	})
}

func TestMigrationsAreReversible(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		p, err := st.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		// Down one step at a time to nothing, then up again.
		for {
			v, err := p.GetDBVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v == 0 {
				break
			}
			if _, err := p.Down(ctx); err != nil {
				t.Fatalf("down from %d: %v", v, err)
			}
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		mustCreateUser(t, st, "after@example.com", false)
		if pending, err := p.HasPending(ctx); err != nil || pending {
			t.Fatalf("pending=%v err=%v after up", pending, err)
		}
	})
}

// Every migration can be undone and applied again, on both engines, with
// data in the tables: `widgetapi migrate down` must work for each step.
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		if err := st.CreateWidget(ctx, newWidget("kept", owner, 0)); err != nil {
			t.Fatal(err)
		}
		p, err := st.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		sources := p.ListSources()
		// Down to the first migration (users), one step at a time.
		for i := len(sources) - 1; i >= 1; i-- {
			if _, err := p.Down(ctx); err != nil {
				t.Fatalf("down from %s: %v", sources[i].Path, err)
			}
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if v, err := p.GetDBVersion(ctx); err != nil || v != sources[len(sources)-1].Version {
			t.Fatalf("version after up: %d, %v", v, err)
		}
		// The schema works again: a widget can be created and counted.
		if err := st.CreateWidget(ctx, newWidget("after", owner, 1)); err != nil {
			t.Fatal(err)
		}
		if _, total, err := st.FindWidgets(ctx, widgetapi.Page{Number: 1, Size: 5}); err != nil || total != 1 {
			t.Fatalf("after down and up: total %d, %v", total, err)
		}
	})
}

// A bulk create inserts in order, skips taken names (stored ones and
// repeats within the batch), and keeps the total exact.
func TestCreateWidgetsInBulk(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st testdb.Store) {
		ctx := context.Background()
		owner := mustCreateUser(t, st, "admin@example.com", true)
		if err := st.CreateWidget(ctx, newWidget("taken", owner, 0)); err != nil {
			t.Fatal(err)
		}
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
