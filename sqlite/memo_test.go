package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"widgetapi"
	"widgetapi/internal/store"
)

// The widget read remembers what it read on each hot connection, and the
// very next read after a commit through another connection (another
// process's, as far as SQLite can tell) reads it afresh: a revoked
// session, a disabled, demoted or deleted user, a changed or deleted
// widget. Every step first has the read remembered on every connection,
// so that the one read after the change is sure to find it there.
func TestWidgetReadIsReadAfreshAfterAnotherConnectionCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "memo.db")
	db, users := openWith(t, path, false)
	defer db.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	writer := store.New(other)
	reader := users[1]
	at := time.Unix(1e6, 0)
	newSession := func() string {
		t.Helper()
		s := &widgetapi.Session{JTI: uuid.NewString(), UserID: reader.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := writer.CreateSession(ctx, s, nil, nil); err != nil {
			t.Fatal(err)
		}
		return s.JTI
	}
	jti := newSession()
	const name = "w0000001"
	read := func() (widgetapi.TokenSubject, *widgetapi.Widget) {
		t.Helper()
		sub, w, err := db.FindWidgetForToken(ctx, reader.PublicID, jti, name)
		if err != nil {
			t.Fatal(err)
		}
		return sub, w
	}
	// remembered reads on every connection, and checks each now holds
	// the read at its current version.
	remembered := func(step string) (widgetapi.TokenSubject, *widgetapi.Widget) {
		t.Helper()
		var sub widgetapi.TokenSubject
		var w *widgetapi.Widget
		for range 2 * len(db.hot.all) {
			sub, w = read()
		}
		key := memoKey{jti, name, reader.PublicID}
		for i, hc := range db.hot.all {
			held := false
			for _, hs := range hc.stmts {
				if e, ok := hs.memo[key]; ok && e.gen == hc.gen {
					held = true
				}
			}
			if !held {
				t.Fatalf("%s: connection %d does not hold the read", step, i)
			}
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

	jti = newSession()
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
	jti = newSession()
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
