package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"widgetapi/internal/sealed"
	"widgetapi/internal/testclock"
	"widgetapi/internal/testdb"
	"widgetapi/keys"
)

var secret = []byte("a-test-secret-key-of-at-least-32-bytes")

func newManager(t *testing.T, st keys.Store, alg string, clock func() time.Time, secrets ...[]byte) *keys.Manager {
	t.Helper()
	if len(secrets) == 0 {
		secrets = [][]byte{secret}
	}
	box, err := sealed.New(secrets)
	if err != nil {
		t.Fatal(err)
	}
	m, err := keys.New(keys.Config{Store: st, Box: box, Alg: alg, TTL: time.Hour, Leeway: 5 * time.Second,
		PublishAhead: 10 * time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func states(t *testing.T, m *keys.Manager) []keys.State {
	t.Helper()
	list, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []keys.State
	for _, s := range list {
		out = append(out, s.State)
	}
	return out
}

func equal(a, b []keys.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Managers that start together on an empty database make one key between
// them, and all sign with it.
func TestEnsureMakesOneFirstKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, e testdb.Engine) {
		st := e.Open(t)
		var ms []*keys.Manager
		for range 3 {
			ms = append(ms, newManager(t, st, keys.EdDSA, time.Now))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ms))
		for i, m := range ms {
			wg.Go(func() { errs[i] = m.Ensure(context.Background()) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rows, err := st.SigningKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%d keys after three processes started, want 1", len(rows))
		}
		for _, m := range ms {
			kid, _, err := m.SigningKey()
			if err != nil || kid != rows[0].KID {
				t.Errorf("SigningKey = %q, %v; want %q", kid, err, rows[0].KID)
			}
		}
		// A restart makes no second key.
		if err := ms[0].Ensure(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rows, _ := st.SigningKeys(context.Background()); len(rows) != 1 {
			t.Errorf("%d keys after a restart, want 1", len(rows))
		}
	})
}

// A rotated key is published at once, signs after KEY_PUBLISH_AHEAD, and
// the key before it verifies until every token it signed has expired.
func TestRotateLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		st := e.Open(t)
		clock := testclock.New(time.Now().Truncate(time.Second))
		m := newManager(t, st, keys.ES256, clock.Now)
		other := newManager(t, st, keys.ES256, clock.Now)
		if err := m.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		first, _, err := m.SigningKey()
		if err != nil {
			t.Fatal(err)
		}
		next, err := m.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := states(t, m); !equal(got, []keys.State{keys.Signing, keys.Next}) {
			t.Fatalf("after rotate: %v", got)
		}
		// Another process that has not read the set learns the new
		// kid the first time a token names it.
		if _, ok := other.VerifyingKey(next.KID); !ok {
			t.Error("another process does not know the rotated key")
		}
		set, err := m.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 2 {
			t.Fatalf("JWKS has %d keys, want the signing and the next", len(set.Keys))
		}
		if kid, _, _ := m.SigningKey(); kid != first {
			t.Errorf("the new key signs before KEY_PUBLISH_AHEAD")
		}
		clock.Advance(10 * time.Minute)
		if kid, _, _ := m.SigningKey(); kid != next.KID {
			t.Errorf("signing with %s after KEY_PUBLISH_AHEAD, want %s", kid, next.KID)
		}
		if got := states(t, m); !equal(got, []keys.State{keys.Verifying, keys.Signing}) {
			t.Fatalf("after activation: %v", got)
		}
		if _, ok := m.VerifyingKey(first); !ok {
			t.Error("the old key stopped verifying while its tokens live")
		}
		// TTL + leeway + one refresh interval after the switch.
		clock.Advance(time.Hour + 5*time.Second + keys.RefreshInterval(10*time.Minute) - time.Second)
		if got := states(t, m); !equal(got, []keys.State{keys.Verifying, keys.Signing}) {
			t.Fatalf("a second before retirement: %v", got)
		}
		clock.Advance(time.Second)
		if got := states(t, m); !equal(got, []keys.State{keys.Retired, keys.Signing}) {
			t.Fatalf("after the old key's last token expired: %v", got)
		}
		if _, ok := m.VerifyingKey(first); ok {
			t.Error("a retired key still verifies")
		}
		set, err = m.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 1 || set.Keys[0].KID != next.KID {
			t.Errorf("JWKS after retirement: %+v", set.Keys)
		}
		// Listed as retired for a week, then purged.
		clock.Advance(keys.RetiredKeptFor)
		if n, err := m.Purge(ctx); n != 0 || err != nil {
			t.Errorf("Purge a week after retirement = %d, %v; want 0", n, err)
		}
		clock.Advance(time.Second)
		if n, err := m.Purge(ctx); n != 1 || err != nil {
			t.Errorf("Purge after a week = %d, %v; want 1", n, err)
		}
		if got := states(t, m); !equal(got, []keys.State{keys.Signing}) {
			t.Errorf("after the purge: %v", got)
		}
	})
}

// The JWKS holds each algorithm's public key in its RFC form, and nothing
// under HS256.
func TestJWKS(t *testing.T) {
	ctx := context.Background()
	st := testdb.OpenSQLite(t)
	for _, alg := range []string{keys.EdDSA, keys.ES256} {
		m := newManager(t, st, alg, time.Now)
		if err := m.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		set, err := m.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 1 {
			t.Fatalf("%s: %d keys", alg, len(set.Keys))
		}
		j := set.Keys[0]
		list, _ := m.List(ctx)
		var pub any
		for _, s := range list {
			if s.KID == j.KID {
				pub = s.Public
			}
		}
		switch alg {
		case keys.EdDSA:
			if j.Kty != "OKP" || j.Crv != "Ed25519" || j.Y != "" || len(j.X) != 43 {
				t.Errorf("EdDSA JWK %+v", j)
			}
			if _, ok := pub.(ed25519.PublicKey); !ok {
				t.Errorf("public key is a %T", pub)
			}
		case keys.ES256:
			if j.Kty != "EC" || j.Crv != "P-256" || len(j.X) != 43 || len(j.Y) != 43 {
				t.Errorf("ES256 JWK %+v", j)
			}
			if _, ok := pub.(*ecdsa.PublicKey); !ok {
				t.Errorf("public key is a %T", pub)
			}
		}
		if j.Alg != alg || j.Use != "sig" {
			t.Errorf("JWK alg %q use %q", j.Alg, j.Use)
		}
	}
	// Switching TOKEN_ALG: the EdDSA key is retired, an ES256 one signs.
	if list, _ := newManager(t, st, keys.ES256, time.Now).List(ctx); len(list) != 2 || list[0].State != keys.Retired || list[1].State != keys.Signing {
		t.Errorf("after switching to ES256: %+v", list)
	}
	hs := newManager(t, st, keys.HS256, time.Now)
	set, err := hs.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(set)
	if string(b) != `{"keys":[]}` {
		t.Errorf("HS256 JWKS = %s", b)
	}
	if _, err := hs.Rotate(ctx); err == nil {
		t.Error("Rotate under HS256 succeeded")
	}
}

// Private keys are sealed with SECRET_KEY: a rotated SECRET_KEY list that
// keeps the old key signs on; a SECRET_KEY that never sealed them cannot.
func TestPrivateKeysSealed(t *testing.T) {
	ctx := context.Background()
	st := testdb.OpenSQLite(t)
	if err := newManager(t, st, keys.EdDSA, time.Now).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows[0].PrivateKey) < 48 {
		t.Fatalf("private key column is %d bytes", len(rows[0].PrivateKey))
	}
	rotated := newManager(t, st, keys.EdDSA, time.Now, []byte("a-newer-secret-key-of-at-least-32-bytes"), secret)
	if err := rotated.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rotated.SigningKey(); err != nil {
		t.Errorf("with the old secret second in the list: %v", err)
	}
	stranger := newManager(t, st, keys.EdDSA, time.Now, []byte("an-unrelated-secret-key-of-32-bytes-or-more"))
	if err := stranger.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := stranger.SigningKey(); err == nil {
		t.Error("signed with a private key sealed under another SECRET_KEY")
	}
	if _, ok := stranger.VerifyingKey(rows[0].KID); !ok {
		t.Error("the public key stopped verifying")
	}
}
