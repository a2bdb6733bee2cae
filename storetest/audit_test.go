package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"widgetapi"
	"widgetapi/internal/testdb"
)

func newEvent(action, target string) *widgetapi.Event {
	return &widgetapi.Event{At: t0, Action: action, Target: target, Address: "192.0.2.1", RequestID: "req-1",
		Source: widgetapi.SourceAPI, Detail: map[string]any{"k": "v"}}
}

// events lists every event, newest first.
func events(t *testing.T, st testdb.Store, f widgetapi.EventFilter) []*widgetapi.Event {
	t.Helper()
	list, total, err := st.ListEvents(t.Context(), f, widgetapi.Page{Number: 1, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(list) {
		t.Fatalf("ListEvents counted %d for %d events", total, len(list))
	}
	return list
}

// writeCase is one write method of the stores, set up on a fresh database:
// do makes the change with ev, and applied reports whether the change is
// in the database.
type writeCase struct {
	name  string
	setup func(t *testing.T, st testdb.Store) (do func(ev *widgetapi.Event) error, applied func() bool)
}

var writeCases = []writeCase{
	{"CreateUser", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		u := newUser("new@example.com", false)
		return func(ev *widgetapi.Event) error { return st.CreateUser(t.Context(), u, newSession(0, 0), ev) },
			func() bool { return userExists(t, st, "new@example.com") }
	}},
	{"CreateSession", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		u := mustCreateUser(t, st, "u@example.com", false)
		s := newSession(u.ID, 0)
		return func(ev *widgetapi.Event) error { return st.CreateSession(t.Context(), s, nil, ev) },
			func() bool { return liveSessions(t, st, u) == 1 }
	}},
	{"RevokeSession", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		u := mustCreateUser(t, st, "u@example.com", false)
		s := mustCreateSession(t, st, u.ID, 0)
		return func(ev *widgetapi.Event) error {
				_, err := st.RevokeSession(t.Context(), u.ID, s.JTI, t0, ev)
				return err
			},
			func() bool { return liveSessions(t, st, u) == 0 }
	}},
	{"RevokeSessions", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		u := mustCreateUser(t, st, "u@example.com", false)
		mustCreateSession(t, st, u.ID, 0)
		mustCreateSession(t, st, u.ID, 1)
		return func(ev *widgetapi.Event) error {
				_, err := st.RevokeSessions(t.Context(), u.ID, "", t0, ev)
				return err
			},
			func() bool { return liveSessions(t, st, u) == 0 }
	}},
	{"SetPassword", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		u := mustCreateUser(t, st, "u@example.com", false)
		return func(ev *widgetapi.Event) error {
				return st.SetPassword(t.Context(), u.ID, nil, []byte("$2a$04$other"), t0, nil, nil, ev)
			},
			func() bool { return string(findUser(t, st, u.Email).PasswordHash) == "$2a$04$other" }
	}},
	{"UpdateUser", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		u := mustCreateUser(t, st, "u@example.com", false)
		yes := true
		return func(ev *widgetapi.Event) error {
				_, err := st.UpdateUser(t.Context(), u.PublicID, widgetapi.UserUpdate{Admin: &yes}, t0, ev)
				return err
			},
			func() bool { return findUser(t, st, u.Email).Admin }
	}},
	{"DeleteUser", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		mustCreateUser(t, st, "admin@example.com", true)
		u := mustCreateUser(t, st, "u@example.com", false)
		return func(ev *widgetapi.Event) error { return st.DeleteUser(t.Context(), u.PublicID, "", ev) },
			func() bool { return !userExists(t, st, u.Email) }
	}},
	{"CreateWidget", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		owner := mustCreateUser(t, st, "admin@example.com", true)
		return func(ev *widgetapi.Event) error {
				return st.CreateWidget(t.Context(), newWidget("w", owner, 0), ev)
			},
			func() bool { return findWidget(t, st, owner, "w") != nil }
	}},
	{"PutWidget creates", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		owner := mustCreateUser(t, st, "admin@example.com", true)
		return func(ev *widgetapi.Event) error {
				_, err := st.PutWidget(t.Context(), newWidget("w", owner, 0), widgetapi.Precondition{}, ev)
				return err
			},
			func() bool { return findWidget(t, st, owner, "w") != nil }
	}},
	{"PutWidget updates", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		owner := mustCreateUser(t, st, "admin@example.com", true)
		must(t, st.CreateWidget(t.Context(), newWidget("w", owner, 0), nil))
		w := newWidget("w", owner, 0)
		w.InfoURL = "https://example.com/changed"
		return func(ev *widgetapi.Event) error {
				_, err := st.PutWidget(t.Context(), w, widgetapi.Precondition{}, ev)
				return err
			},
			func() bool { return findWidget(t, st, owner, "w").InfoURL == w.InfoURL }
	}},
	{"PatchWidget", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		owner := mustCreateUser(t, st, "admin@example.com", true)
		must(t, st.CreateWidget(t.Context(), newWidget("w", owner, 0), nil))
		u := "https://example.com/patched"
		return func(ev *widgetapi.Event) error {
				_, err := st.PatchWidget(t.Context(), "w", widgetapi.WidgetPatch{InfoURL: &u}, widgetapi.NewVersion(), t0, widgetapi.Precondition{}, ev)
				return err
			},
			func() bool { return findWidget(t, st, owner, "w").InfoURL == u }
	}},
	{"DeleteWidget", func(t *testing.T, st testdb.Store) (func(*widgetapi.Event) error, func() bool) {
		owner := mustCreateUser(t, st, "admin@example.com", true)
		must(t, st.CreateWidget(t.Context(), newWidget("w", owner, 0), nil))
		return func(ev *widgetapi.Event) error {
				return st.DeleteWidget(t.Context(), "w", widgetapi.Precondition{}, ev)
			},
			func() bool { return findWidget(t, st, owner, "w") == nil }
	}},
}

func userExists(t *testing.T, st testdb.Store, email string) bool {
	t.Helper()
	_, err := st.FindUserByEmail(t.Context(), email)
	if err != nil && widgetapi.ErrorCode(err) != widgetapi.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

func findUser(t *testing.T, st testdb.Store, email string) *widgetapi.User {
	t.Helper()
	u, err := st.FindUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func liveSessions(t *testing.T, st testdb.Store, u *widgetapi.User) int {
	t.Helper()
	list, err := st.ListSessions(t.Context(), u.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// Every write method records its event in the change's own transaction:
// the change that is acknowledged has its event, and an event that cannot
// be stored (here one the table's CHECK refuses) undoes the change.
func TestEventsAreWrittenWithTheirChange(t *testing.T) {
	for _, c := range writeCases {
		t.Run(c.name, func(t *testing.T) {
			testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
				do, applied := c.setup(t, st)
				bad := newEvent("test.refused", "x")
				bad.Source = "neither api nor cli"
				if err := do(bad); err == nil {
					t.Fatal("a change whose event cannot be stored was acknowledged")
				}
				if applied() {
					t.Fatal("the change was kept without its event")
				}
				if got := events(t, st, widgetapi.EventFilter{}); len(got) != 0 {
					t.Fatalf("events after the failed change: %+v", got)
				}

				ev := newEvent("test.done", "x")
				must(t, do(ev))
				if !applied() {
					t.Fatal("the change was acknowledged but is not there")
				}
				got := events(t, st, widgetapi.EventFilter{})
				if len(got) != 1 || got[0].ID != ev.ID || ev.ID == 0 {
					t.Fatalf("events %+v, want the one recorded (id %d)", got, ev.ID)
				}
			})
		})
	}
}

// A detail that cannot be encoded fails the change, rather than being
// stored empty.
func TestAnEventWhoseDetailCannotBeKeptFailsItsChange(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		owner := mustCreateUser(t, st, "admin@example.com", true)
		ev := newEvent(widgetapi.ActionWidgetCreated, "w")
		ev.Detail = map[string]any{"f": func() {}}
		if err := st.CreateWidget(t.Context(), newWidget("w", owner, 0), ev); err == nil {
			t.Fatal("acknowledged")
		}
		if findWidget(t, st, owner, "w") != nil {
			t.Fatal("the widget was kept without its event")
		}
	})
}

func TestListEventsFiltersAndPages(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		alice := &widgetapi.EventActor{Email: "alice@example.com", PublicID: "11111111-1111-4111-8111-111111111111"}
		var all []*widgetapi.Event
		for i := range 30 {
			ev := newEvent([]string{widgetapi.ActionLogin, widgetapi.ActionLoginFailed, widgetapi.ActionWidgetCreated}[i%3],
				fmt.Sprintf("target-%d", i%5))
			ev.At = t0.Add(time.Duration(i) * time.Second)
			if i%2 == 0 {
				ev.Actor = alice
			}
			ev.Detail = map[string]any{"i": float64(i), "nested": map[string]any{"old": false, "new": true}}
			must(t, st.RecordEvent(ctx, ev))
			all = append(all, ev)
		}
		got := events(t, st, widgetapi.EventFilter{})
		if len(got) != 30 {
			t.Fatalf("%d events", len(got))
		}
		for i, ev := range got {
			want := all[29-i]
			if ev.ID != want.ID || ev.Action != want.Action || ev.Target != want.Target || !ev.At.Equal(want.At) ||
				ev.Address != want.Address || ev.RequestID != want.RequestID || ev.Source != want.Source ||
				fmt.Sprint(ev.Detail) != fmt.Sprint(want.Detail) || (ev.Actor == nil) != (want.Actor == nil) {
				t.Fatalf("event %d is %+v, want %+v (newest first)", i, ev, want)
			}
			if ev.Actor != nil && *ev.Actor != *alice {
				t.Fatalf("actor %+v", ev.Actor)
			}
		}
		count := func(f widgetapi.EventFilter, match func(*widgetapi.Event) bool) {
			t.Helper()
			want := 0
			for _, ev := range all {
				if match(ev) {
					want++
				}
			}
			if got := events(t, st, f); len(got) != want || want == 0 {
				t.Errorf("filter %+v: %d events, want %d", f, len(got), want)
			}
		}
		count(widgetapi.EventFilter{Action: widgetapi.ActionLoginFailed}, func(e *widgetapi.Event) bool { return e.Action == widgetapi.ActionLoginFailed })
		count(widgetapi.EventFilter{Actor: alice.Email}, func(e *widgetapi.Event) bool { return e.Actor != nil })
		count(widgetapi.EventFilter{Actor: alice.PublicID}, func(e *widgetapi.Event) bool { return e.Actor != nil })
		count(widgetapi.EventFilter{Target: "target-3"}, func(e *widgetapi.Event) bool { return e.Target == "target-3" })
		count(widgetapi.EventFilter{Action: widgetapi.ActionLogin, Actor: alice.Email, Target: "target-0"}, func(e *widgetapi.Event) bool {
			return e.Action == widgetapi.ActionLogin && e.Actor != nil && e.Target == "target-0"
		})
		// A target's aliases match as it does.
		count(widgetapi.EventFilter{Target: "target-1", TargetAliases: []string{"target-4", "target-9"}}, func(e *widgetapi.Event) bool {
			return e.Target == "target-1" || e.Target == "target-4"
		})
		// A filter is compared whole: a pattern matches nothing.
		if got := events(t, st, widgetapi.EventFilter{Target: "target-%"}); len(got) != 0 {
			t.Errorf("target-%% matched %d", len(got))
		}
		page, total, err := st.ListEvents(ctx, widgetapi.EventFilter{}, widgetapi.Page{Number: 3, Size: 10})
		if err != nil || total != 30 || len(page) != 10 || page[0].ID != all[9].ID {
			t.Fatalf("page 3: %d events of %d, %v", len(page), total, err)
		}
	})
}

// Purges run by many processes at once delete each old event once between
// them and keep the recent ones.
func TestPurgeEventsFromManyAtOnce(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
		ctx := t.Context()
		const old, recent = 2500, 40
		for i := range old + recent {
			ev := newEvent(widgetapi.ActionLogin, "t")
			if i >= old {
				ev.At = t0.Add(48 * time.Hour)
			}
			must(t, st.RecordEvent(ctx, ev))
		}
		if total := purgeTogether(t, 8, func() (int64, error) { return st.PurgeEvents(ctx, t0.Add(24*time.Hour)) }); total != old {
			t.Fatalf("purged %d between them, want %d", total, old)
		}
		if _, n, err := st.ListEvents(ctx, widgetapi.EventFilter{}, widgetapi.Page{Number: 1, Size: 5}); err != nil || n != recent {
			t.Fatalf("%d events left, %v; want %d", n, err, recent)
		}
	})
}

// Changes that each would take an administrator's rights, made at once,
// never leave no enabled administrator: of two admins demoting, disabling
// or deleting each other, exactly one wins.
func TestTheLastAdministratorSurvivesRaces(t *testing.T) {
	no, yes := false, true
	demote := func(st testdb.Store, u *widgetapi.User) error {
		_, err := st.UpdateUser(t.Context(), u.PublicID, widgetapi.UserUpdate{Admin: &no}, t0, nil)
		return err
	}
	disable := func(st testdb.Store, u *widgetapi.User) error {
		_, err := st.UpdateUser(t.Context(), u.PublicID, widgetapi.UserUpdate{Disabled: &yes}, t0, nil)
		return err
	}
	remove := func(st testdb.Store, u *widgetapi.User) error {
		return st.DeleteUser(t.Context(), u.PublicID, "", nil)
	}
	pairs := map[string][2]func(testdb.Store, *widgetapi.User) error{
		"demote each other": {demote, demote}, "disable each other": {disable, disable},
		"delete each other": {remove, remove}, "demote and disable": {demote, disable}, "disable and delete": {disable, remove},
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			testdb.EachStore(t, func(t *testing.T, st testdb.Store) {
				// Each round races the survivor of the last one and a new
				// administrator: exactly two enabled administrators.
				survivor := mustCreateUser(t, st, "first@example.com", true)
				for round := range 10 {
					other := mustCreateUser(t, st, fmt.Sprintf("admin%d@example.com", round), true)
					targets := []*widgetapi.User{other, survivor}
					if round%2 == 1 {
						targets[0], targets[1] = survivor, other
					}
					var errs [2]error
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i, target := range targets {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							errs[i] = pair[i](st, target)
						}()
					}
					close(start)
					wg.Wait()
					refused := -1
					for i, err := range errs {
						switch {
						case err == nil:
						case widgetapi.ErrorCode(err) == widgetapi.ECONFLICT && widgetapi.ErrorMessage(err) == "cannot remove the last administrator":
							if refused >= 0 {
								t.Fatalf("round %d: both changes refused", round)
							}
							refused = i
						default:
							t.Fatalf("round %d: %v", round, err)
						}
					}
					if refused < 0 {
						t.Fatalf("round %d: both changes made; no enabled administrator is left", round)
					}
					if n := enabledAdmins(t, st); n != 1 {
						t.Fatalf("round %d: %d enabled administrators left", round, n)
					}
					survivor = targets[refused]
				}
			})
		})
	}
}

func enabledAdmins(t *testing.T, st testdb.Store) int {
	t.Helper()
	yes, no := true, false
	_, n, err := st.ListUsers(t.Context(), widgetapi.UserFilter{Admin: &yes, Disabled: &no}, widgetapi.Page{Number: 1, Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
