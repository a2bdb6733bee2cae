package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/store"
)

// The widget read remembers what it read, and the very next read after a
// commit through another connection (another process's, as far as
// SQLite can tell) reads it afresh: a revoked session, a disabled,
// demoted or deleted user, a changed or deleted widget. Every step first
// has the read remembered, so that the one read after the change is sure
// to find it.
func TestWidgetReadIsReadAfreshAfterAnotherConnectionCommits(t *testing.T) {
	ctx := context.Background()
	db, writer, users := openTwice(t)
	reader := users[1]
	at := time.Unix(1e6, 0)
	jti := newSession(t, writer, reader)
	const name = "w0000001"
	read := func() (widgetapi.TokenSubject, *widgetapi.Widget) {
		t.Helper()
		sub, w, err := db.FindWidgetForToken(ctx, reader.PublicID, jti, name)
		if err != nil {
			t.Fatal(err)
		}
		return sub, w
	}
	// remembered reads twice and checks that the read is now remembered
	// at the current generation, so that a read after a change would
	// find it.
	remembered := func(step string) (widgetapi.TokenSubject, *widgetapi.Widget) {
		t.Helper()
		read()
		sub, w := read()
		e, ok := db.widgetReads.m[memoKey{jti, name, reader.PublicID}]
		if !ok || e.gen != db.hot.watch.gen {
			t.Fatalf("%s: the read is not remembered at generation %d: %+v", step, db.hot.watch.gen, e)
		}
		return sub, w
	}

	sub, w := remembered("live session")
	if sub.User == nil || sub.Revoked || sub.NoSession || w == nil || w.InfoURL != "https://example.com" {
		t.Fatalf("before any change: subject %+v, widget %+v", sub, w)
	}
	// What a caller does with what it was given stays its own.
	sub.User.Admin, w.InfoURL = true, "changed by the caller"
	if sub, w := read(); sub.User.Admin || w.InfoURL != "https://example.com" {
		t.Fatalf("a caller's change reached the next read: subject %+v, widget %+v", sub.User, w)
	}

	if ok, err := writer.RevokeSession(ctx, reader.ID, jti, at, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if sub, _ := read(); !sub.Revoked {
		t.Fatalf("session revoked through another connection, then read as %+v", sub)
	}

	jti = newSession(t, writer, reader)
	remembered("a new session")
	yes, no := true, false
	if _, err := writer.UpdateUser(ctx, reader.PublicID, widgetapi.UserUpdate{Disabled: &yes}, at, nil); err != nil {
		t.Fatal(err)
	}
	if sub, _ := read(); sub.User == nil || !sub.User.Disabled {
		t.Fatalf("user disabled through another connection, then read as %+v", sub.User)
	}

	// Another administrator first, so that the reader may be demoted.
	for _, u := range []*widgetapi.User{users[0], reader} {
		if _, err := writer.UpdateUser(ctx, u.PublicID, widgetapi.UserUpdate{Disabled: &no, Admin: &yes}, at, nil); err != nil {
			t.Fatal(err)
		}
	}
	jti = newSession(t, writer, reader)
	if sub, _ := remembered("promoted"); sub.User == nil || !sub.User.Admin || sub.User.Disabled || sub.Revoked {
		t.Fatalf("promoted and enabled, read as %+v", sub)
	}
	if _, err := writer.UpdateUser(ctx, reader.PublicID, widgetapi.UserUpdate{Admin: &no}, at, nil); err != nil {
		t.Fatal(err)
	}
	if sub, _ := read(); sub.User == nil || sub.User.Admin {
		t.Fatalf("user demoted through another connection, then read as %+v", sub.User)
	}

	remembered("demoted")
	put := &widgetapi.Widget{Name: name, InfoURL: "https://example.com/put", CreatedAt: at, UpdatedAt: at,
		Deadline: time.Unix(2e9, 0), Version: 42, Owner: widgetapi.WidgetOwner{ID: users[0].ID}}
	if _, err := writer.PutWidget(ctx, put, widgetapi.Precondition{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, w := read(); w == nil || w.InfoURL != put.InfoURL || w.Version != put.Version {
		t.Fatalf("widget put through another connection, then read as %+v", w)
	}

	remembered("put")
	if err := writer.DeleteWidget(ctx, name, widgetapi.Precondition{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, w := read(); w != nil {
		t.Fatalf("widget deleted through another connection, then read as %+v", w)
	}

	remembered("widget deleted")
	if err := writer.DeleteUser(ctx, reader.PublicID, "", nil); err != nil {
		t.Fatal(err)
	}
	if sub, w := read(); sub.User != nil || w != nil {
		t.Fatalf("user deleted through another connection, then read as %+v and %+v", sub.User, w)
	}
}

// A read that arrives while a check of the database's version is under
// way does not take that check's answer, which may predate a commit made
// before the read arrived: it waits for a check of its own, or one that
// started after it, and sees the commit.
func TestAReadDoesNotTakeTheAnswerOfACheckStartedBeforeIt(t *testing.T) {
	db, writer, users := openTwice(t)
	w := db.hot.watch
	before, err := w.current()
	if err != nil {
		t.Fatal(err)
	}
	// A check under way, as if it had started before the commit below.
	w.mu.Lock()
	w.running = true
	w.started++
	w.mu.Unlock()
	newSession(t, writer, users[1])
	got := make(chan uint64)
	go func() {
		gen, err := w.current()
		if err != nil {
			t.Error(err)
		}
		got <- gen
	}()
	// The check under way ends having seen nothing new, whether the read
	// is waiting for it yet or not.
	w.mu.Lock()
	w.running = false
	w.finished = w.started
	w.done.Broadcast()
	w.mu.Unlock()
	if gen := <-got; gen == before {
		t.Fatalf("a read after a commit got generation %d, that of the checks before it", gen)
	}
}

// Under concurrent reads, which share checks of the version, a read made
// after a revocation through another connection has returned always
// sees it, however the checks fall.
func TestRevocationsAreSeenUnderConcurrentReads(t *testing.T) {
	ctx := context.Background()
	db, writer, users := openTwice(t)
	reader := users[1]
	var jtis []string
	for range 30 {
		jtis = append(jtis, newSession(t, writer, reader))
	}
	at := time.Unix(1e6, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := db.FindWidgetForToken(ctx, reader.PublicID, jtis[(g+i)%len(jtis)], "w0000001"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for _, jti := range jtis {
		if sub, _, err := db.FindWidgetForToken(ctx, reader.PublicID, jti, "w0000001"); err != nil || sub.Revoked {
			t.Fatalf("before its revocation: %+v, %v", sub, err)
		}
		if ok, err := writer.RevokeSession(ctx, reader.ID, jti, at, nil); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if sub, _, err := db.FindWidgetForToken(ctx, reader.PublicID, jti, "w0000001"); err != nil || !sub.Revoked {
			t.Fatalf("read after its revocation: %+v, %v", sub, err)
		}
	}
	close(stop)
	wg.Wait()
}

// openTwice returns the database of openWith, and a store on a second
// handle on the same file, whose connections are as foreign to the
// first's as another process's.
func openTwice(t *testing.T) (db *DB, other store.Store, users []*widgetapi.User) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, users = openWith(t, path, false)
	t.Cleanup(func() { db.Close() })
	second, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return db, store.New(second), users
}

// newSession records a session of u through st and returns its jti.
func newSession(t *testing.T, st store.Store, u *widgetapi.User) string {
	t.Helper()
	at := time.Unix(1e6, 0)
	s := &widgetapi.Session{JTI: uuid.NewString(), UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := st.CreateSession(context.Background(), s, nil, nil); err != nil {
		t.Fatal(err)
	}
	return s.JTI
}
