// Package keys keeps the asymmetric token signing keys (TOKEN_ALG EdDSA or
// ES256): it makes the first key once however many processes start
// together, rotates, lists, and holds the set every process signs and
// verifies with, refreshed from the database so that a rotation made by
// any process (or `widgetapi keys rotate`) reaches all of them. The
// engines only store and read rows; every decision is here.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"widgetapi"
	"widgetapi/internal/sealed"
)

// The algorithms of tokens.
const (
	HS256 = "HS256"
	EdDSA = "EdDSA"
	ES256 = "ES256"
)

// Asymmetric reports whether alg signs with keys this package keeps.
func Asymmetric(alg string) bool { return alg == EdDSA || alg == ES256 }

// Store is what the package needs of a storage engine.
type Store interface {
	// InsertSigningKey stores k unless its slot or kid is taken, and
	// reports whether it did.
	InsertSigningKey(ctx context.Context, k *widgetapi.SigningKey) (bool, error)
	// SigningKeys returns every key, in slot order.
	SigningKeys(ctx context.Context) ([]*widgetapi.SigningKey, error)
	// DeleteSigningKey deletes the key kid, if it is there.
	DeleteSigningKey(ctx context.Context, kid string) error
}

// State is where a key is in its life.
type State string

const (
	// Next keys are published and not yet signing.
	Next State = "next"
	// Signing is the one key new tokens are signed with.
	Signing State = "signing"
	// Verifying keys no longer sign, but tokens they signed may live.
	Verifying State = "verifying"
	// Retired keys signed nothing still alive (or are of another
	// algorithm than TOKEN_ALG): they are not published, and tokens
	// naming them are refused.
	Retired State = "retired"
)

// Key is a signing key, parsed.
type Key struct {
	KID         string
	Slot        int64
	Alg         string
	CreatedAt   time.Time
	ActivatesAt time.Time
	Public      crypto.PublicKey
	// private is nil when no key of SECRET_KEY opens it.
	private crypto.Signer
}

// Status is a key with its state at a moment.
type Status struct {
	*Key
	State State
	// Until is when a signing key stops signing (a next key activates),
	// or when a verifying key retires; zero when not known.
	Until time.Time
}

// Config configures a Manager.
type Config struct {
	Store Store       // required
	Box   *sealed.Box // required: seals and opens private keys
	// Alg is TOKEN_ALG; under HS256 the Manager publishes nothing.
	Alg string
	// TTL and Leeway are the tokens' lifetime and the clock skew allowed,
	// which decide how long a key verifies after it stops signing.
	TTL    time.Duration
	Leeway time.Duration
	// PublishAhead is KEY_PUBLISH_AHEAD: a rotated key is published at once
	// and signs after this long.
	PublishAhead time.Duration
	Now          func() time.Time
}

// Manager holds the key set of one process.
type Manager struct {
	cfg Config
	// refresh is how often the set is read again; a process learns of a
	// new key within it, so it is kept well below PublishAhead.
	refresh time.Duration

	mu   sync.RWMutex
	keys []*Key // of cfg.Alg, in slot order
	all  []*Key // every key, in slot order
	// loadedAt is when the set was read, by the machine's clock (not
	// cfg.Now): it paces reads of the database.
	loadedAt time.Time

	// loading serializes reads of the set, so that a burst of requests
	// naming a kid this process has not seen costs one read of the
	// database, and an older read never replaces a newer one.
	loading sync.Mutex
}

// New checks cfg and returns a Manager with nothing loaded yet; call
// Ensure (serve) or Refresh (commands) before use.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Box == nil {
		return nil, errors.New("keys: Store and Box are required")
	}
	if cfg.Alg != HS256 && !Asymmetric(cfg.Alg) {
		return nil, fmt.Errorf("keys: unknown algorithm %q", cfg.Alg)
	}
	if cfg.TTL <= 0 || cfg.Leeway < 0 || cfg.PublishAhead < 0 {
		return nil, errors.New("keys: TTL must be positive, Leeway and PublishAhead not negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg, refresh: RefreshInterval(cfg.PublishAhead)}, nil
}

// RefreshInterval is how often a process reads the key set again for a
// KEY_PUBLISH_AHEAD of ahead: a quarter of it, so that every process and
// a verifier caching the JWKS have learnt of a new key before it signs,
// within 1 s and 1 min.
func RefreshInterval(ahead time.Duration) time.Duration {
	return min(max(ahead/4, time.Second), time.Minute)
}

// Alg is TOKEN_ALG.
func (m *Manager) Alg() string { return m.cfg.Alg }

// Ensure makes sure a key of TOKEN_ALG signs now, making one if none does,
// and loads the set. Processes that start together all read no key, all
// try to insert one in the next slot, and one insert wins; the others find
// the winner's key when they read again.
func (m *Manager) Ensure(ctx context.Context) error {
	if !Asymmetric(m.cfg.Alg) {
		return nil
	}
	for range 10 {
		rows, err := m.cfg.Store.SigningKeys(ctx)
		if err != nil {
			return err
		}
		now := m.now()
		for _, r := range rows {
			if r.Alg == m.cfg.Alg && !r.ActivatesAt.After(now) {
				return m.Refresh(ctx)
			}
		}
		if _, err := m.insert(ctx, rows, now); err != nil {
			return err
		}
	}
	return errors.New("keys: could not make the first signing key: the slot was taken every time")
}

// Rotate makes a new key of TOKEN_ALG that is published at once and signs
// from KEY_PUBLISH_AHEAD on.
func (m *Manager) Rotate(ctx context.Context) (*Key, error) {
	if !Asymmetric(m.cfg.Alg) {
		return nil, fmt.Errorf("TOKEN_ALG: %s tokens have no keys to rotate (rotate SECRET_KEY instead: put a new key first)", m.cfg.Alg)
	}
	for range 10 {
		rows, err := m.cfg.Store.SigningKeys(ctx)
		if err != nil {
			return nil, err
		}
		// Rounded up to the second the engines keep: never sooner than
		// KEY_PUBLISH_AHEAD from now.
		k, err := m.insert(ctx, rows, ceilSecond(m.cfg.Now().UTC().Add(m.cfg.PublishAhead)))
		if err != nil {
			return nil, err
		}
		if k != nil {
			return k, m.Refresh(ctx)
		}
	}
	return nil, errors.New("keys: could not rotate: the slot was taken every time")
}

// insert makes a key of TOKEN_ALG in the slot after rows' last, activating
// at activates, and returns it, or nil when another process took the slot.
func (m *Manager) insert(ctx context.Context, rows []*widgetapi.SigningKey, activates time.Time) (*Key, error) {
	var slot int64 = 1
	if len(rows) > 0 {
		slot = rows[len(rows)-1].Slot + 1
	}
	k, row, err := m.generate(slot, activates)
	if err != nil {
		return nil, err
	}
	ok, err := m.cfg.Store.InsertSigningKey(ctx, row)
	if err != nil || !ok {
		return nil, err
	}
	return k, nil
}

func (m *Manager) generate(slot int64, activates time.Time) (*Key, *widgetapi.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch m.cfg.Alg {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("keys: generate: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, nil, err
	}
	kid := base64.RawURLEncoding.EncodeToString(id[:])
	sealedKey, err := m.cfg.Box.Seal(der, []byte(kid))
	if err != nil {
		return nil, nil, err
	}
	now := m.now()
	row := &widgetapi.SigningKey{KID: kid, Slot: slot, Alg: m.cfg.Alg, PublicKey: pub, PrivateKey: sealedKey,
		CreatedAt: now, ActivatesAt: activates.Truncate(time.Second)}
	return &Key{KID: kid, Slot: slot, Alg: m.cfg.Alg, CreatedAt: now, ActivatesAt: row.ActivatesAt,
		Public: priv.Public(), private: priv}, row, nil
}

func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// now is the clock in whole seconds, the resolution the engines keep.
func (m *Manager) now() time.Time { return m.cfg.Now().UTC().Truncate(time.Second) }

// Refresh reads the key set from the database.
func (m *Manager) Refresh(ctx context.Context) error {
	m.loading.Lock()
	defer m.loading.Unlock()
	return m.load(ctx)
}

// load reads the set; the caller holds loading.
func (m *Manager) load(ctx context.Context) error {
	rows, err := m.cfg.Store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	return m.install(rows)
}

// refreshIfOlder reads the set again unless it was read within age, once
// for all the callers that wait meanwhile.
func (m *Manager) refreshIfOlder(ctx context.Context, age time.Duration) error {
	m.loading.Lock()
	defer m.loading.Unlock()
	m.mu.RLock()
	fresh := !m.loadedAt.IsZero() && time.Since(m.loadedAt) < age
	m.mu.RUnlock()
	if fresh {
		return nil
	}
	return m.load(ctx)
}

// loaded reports whether the set was read at least once.
func (m *Manager) loaded() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return !m.loadedAt.IsZero()
}

// install parses rows and makes them the set; the caller holds loading.
func (m *Manager) install(rows []*widgetapi.SigningKey) error {
	all := make([]*Key, 0, len(rows))
	var mine []*Key
	m.mu.RLock()
	known := make(map[string]*Key, len(m.all))
	for _, k := range m.all {
		known[k.KID] = k
	}
	m.mu.RUnlock()
	for _, r := range rows {
		k := known[r.KID]
		if k == nil {
			var err error
			if k, err = m.parse(r); err != nil {
				return err
			}
		}
		all = append(all, k)
		if k.Alg == m.cfg.Alg {
			mine = append(mine, k)
		}
	}
	m.mu.Lock()
	m.all, m.keys, m.loadedAt = all, mine, time.Now()
	m.mu.Unlock()
	return nil
}

// parse reads a row's keys. A private key no secret of SECRET_KEY opens is
// left out: the key still verifies, and signing with it fails with a
// message saying why.
func (m *Manager) parse(r *widgetapi.SigningKey) (*Key, error) {
	pub, err := x509.ParsePKIXPublicKey(r.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("keys: public key %s: %w", r.KID, err)
	}
	k := &Key{KID: r.KID, Slot: r.Slot, Alg: r.Alg, CreatedAt: r.CreatedAt, ActivatesAt: r.ActivatesAt, Public: pub}
	if der, err := m.cfg.Box.Open(r.PrivateKey, []byte(r.KID)); err == nil {
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("keys: private key %s: %w", r.KID, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("keys: private key %s is a %T", r.KID, priv)
		}
		k.private = signer
	}
	return k, nil
}

// statuses gives each key of keys (TOKEN_ALG's, in slot order) its state at
// now. The signing key is the one activated last; a key stops verifying
// once every token it may have signed has expired: TTL after the key that
// replaced it activated, plus the leeway for clocks and one refresh for a
// process that learnt of the replacement late.
func (m *Manager) statuses(keys []*Key, now time.Time) []Status {
	order := slices.Clone(keys)
	slices.SortStableFunc(order, func(a, b *Key) int {
		if c := a.ActivatesAt.Compare(b.ActivatesAt); c != 0 {
			return c
		}
		return int(a.Slot - b.Slot)
	})
	st := make(map[string]Status, len(keys))
	for i, k := range order {
		s := Status{Key: k}
		var successor time.Time
		for _, n := range order[i+1:] {
			if !n.ActivatesAt.After(now) {
				successor = n.ActivatesAt
				break
			}
		}
		switch {
		case k.ActivatesAt.After(now):
			s.State = Next
			s.Until = k.ActivatesAt
		case successor.IsZero():
			s.State = Signing
			if i+1 < len(order) {
				s.Until = order[i+1].ActivatesAt
			}
		default:
			s.Until = successor.Add(m.cfg.TTL + m.cfg.Leeway + m.refresh)
			s.State = Verifying
			if !s.Until.After(now) {
				s.State = Retired
			}
		}
		st[k.KID] = s
	}
	out := make([]Status, 0, len(keys))
	for _, k := range keys {
		out = append(out, st[k.KID])
	}
	return out
}

// List reads the key set from the database and returns every key with
// its state now, in slot order; keys of another algorithm than TOKEN_ALG
// are retired.
func (m *Manager) List(ctx context.Context) ([]Status, error) {
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	m.mu.RLock()
	all, mine := m.all, m.keys
	m.mu.RUnlock()
	st := make(map[string]Status, len(mine))
	for _, s := range m.statuses(mine, m.cfg.Now()) {
		st[s.KID] = s
	}
	out := make([]Status, 0, len(all))
	for _, k := range all {
		s, ok := st[k.KID]
		if !ok {
			s = Status{Key: k, State: Retired}
		}
		out = append(out, s)
	}
	return out, nil
}

// published returns the keys of the set a verifier needs now: next,
// signing and verifying ones.
func (m *Manager) published(now time.Time) []Status {
	m.mu.RLock()
	mine := m.keys
	m.mu.RUnlock()
	var out []Status
	for _, s := range m.statuses(mine, now) {
		if s.State != Retired {
			out = append(out, s)
		}
	}
	return out
}

// SigningKey returns the kid and private key new tokens are signed with.
func (m *Manager) SigningKey() (string, crypto.Signer, error) {
	for _, s := range m.published(m.cfg.Now()) {
		if s.State != Signing {
			continue
		}
		if s.private == nil {
			return "", nil, fmt.Errorf("keys: no key of SECRET_KEY opens the private key of %s (was SECRET_KEY changed without keeping the old key?)", s.KID)
		}
		return s.KID, s.private, nil
	}
	return "", nil, errors.New("keys: no key signs now (was the set loaded?)")
}

// VerifyingKey returns the public key of kid while it may verify tokens.
// A kid this process has not seen makes it read the set again, at most
// ten times a second (kids made up by a client cost no more), so that a
// key another process made is known at once.
func (m *Manager) VerifyingKey(kid string) (crypto.PublicKey, bool) {
	if pub, ok := m.lookup(kid); ok {
		return pub, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.refreshIfOlder(ctx, 100*time.Millisecond); err != nil {
		return nil, false
	}
	return m.lookup(kid)
}

func (m *Manager) lookup(kid string) (crypto.PublicKey, bool) {
	for _, s := range m.published(m.cfg.Now()) {
		if s.KID == kid {
			return s.Public, true
		}
	}
	return nil, false
}

// RetiredKeptFor is how long a retired key stays in the table, listed as
// retired, before the purge deletes it.
const RetiredKeptFor = 7 * 24 * time.Hour

// Purge deletes the keys of TOKEN_ALG retired for longer than
// RetiredKeptFor, and returns how many. Keys of another algorithm are
// kept: a process of the deployment may still use them while TOKEN_ALG
// is being switched. Safe from many processes at once.
func (m *Manager) Purge(ctx context.Context) (int, error) {
	list, err := m.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range list {
		if s.Alg == m.cfg.Alg && s.State == Retired && m.cfg.Now().Sub(s.Until) > RetiredKeptFor {
			if err := m.cfg.Store.DeleteSigningKey(ctx, s.KID); err != nil {
				return n, err
			}
			n++
		}
	}
	if n > 0 {
		return n, m.Refresh(ctx)
	}
	return 0, nil
}

// Run reads the set again every refresh interval, and purges old retired
// keys every hour, until ctx ends, calling onErr with the failures (the set
// in memory goes on serving).
func (m *Manager) Run(ctx context.Context, onErr func(error)) {
	if !Asymmetric(m.cfg.Alg) {
		return
	}
	t := time.NewTicker(m.refresh)
	defer t.Stop()
	purged := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := m.Refresh(ctx)
			if err == nil && time.Since(purged) >= time.Hour {
				purged = time.Now()
				_, err = m.Purge(ctx)
			}
			if err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
