package postgres

import (
	"context"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// InsertSigningKey stores k unless its slot (or kid) is taken, and reports
// whether it did: of processes that make a key for one slot at once, one
// statement wins and the others learn it without an error.
func (db *DB) InsertSigningKey(ctx context.Context, k *widgetapi.SigningKey) (bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	n, err := sqlutil.Affected(db.db.ExecContext(ctx, `
		INSERT INTO signing_keys (kid, slot, alg, public_key, private_key, created_at, activates_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		k.KID, k.Slot, k.Alg, k.PublicKey, k.PrivateKey, k.CreatedAt, k.ActivatesAt))
	if err != nil {
		return false, mapError("insert signing key", err)
	}
	return n == 1, nil
}

// DeleteSigningKey deletes the key kid, if it is there.
func (db *DB) DeleteSigningKey(ctx context.Context, kid string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.db.ExecContext(ctx, `DELETE FROM signing_keys WHERE kid = $1`, kid)
	return mapError("delete signing key", err)
}

// SigningKeys returns every signing key, in slot order.
func (db *DB) SigningKeys(ctx context.Context) ([]*widgetapi.SigningKey, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.db.QueryContext(ctx, `
		SELECT kid, slot, alg, public_key, private_key, created_at, activates_at
		FROM signing_keys ORDER BY slot`)
	keys, err := sqlutil.Collect(rows, err, nil, func(r sqlutil.Scanner) (*widgetapi.SigningKey, error) {
		var k widgetapi.SigningKey
		err := r.Scan(&k.KID, &k.Slot, &k.Alg, &k.PublicKey, &k.PrivateKey, &k.CreatedAt, &k.ActivatesAt)
		k.CreatedAt, k.ActivatesAt = k.CreatedAt.UTC(), k.ActivatesAt.UTC()
		return &k, err
	})
	return keys, mapError("list signing keys", err)
}
