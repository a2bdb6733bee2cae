package sqlite

import (
	"context"
	"time"

	"widgetapi"
	"widgetapi/internal/sqlutil"
)

// InsertSigningKey stores k unless its slot (or kid) is taken, and reports
// whether it did: of processes that make a key for one slot at once, one
// statement wins and the others learn it without an error.
func (db *DB) InsertSigningKey(ctx context.Context, k *widgetapi.SigningKey) (bool, error) {
	n, err := sqlutil.Affected(db.exec(ctx, `
		INSERT INTO signing_keys (kid, slot, alg, public_key, private_key, created_at, activates_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.KID, k.Slot, k.Alg, k.PublicKey, k.PrivateKey, k.CreatedAt.Unix(), k.ActivatesAt.Unix()))
	if err != nil {
		return false, mapError("insert signing key", err)
	}
	return n == 1, nil
}

// DeleteSigningKey deletes the key kid, if it is there.
func (db *DB) DeleteSigningKey(ctx context.Context, kid string) error {
	_, err := db.exec(ctx, `DELETE FROM signing_keys WHERE kid = ?`, kid)
	return mapError("delete signing key", err)
}

// SigningKeys returns every signing key, in slot order.
func (db *DB) SigningKeys(ctx context.Context) ([]*widgetapi.SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT kid, slot, alg, public_key, private_key, created_at, activates_at
		FROM signing_keys ORDER BY slot`)
	keys, err := sqlutil.Collect(rows, err, nil, func(r sqlutil.Scanner) (*widgetapi.SigningKey, error) {
		var k widgetapi.SigningKey
		var created, activates int64
		err := r.Scan(&k.KID, &k.Slot, &k.Alg, &k.PublicKey, &k.PrivateKey, &created, &activates)
		k.CreatedAt, k.ActivatesAt = time.Unix(created, 0).UTC(), time.Unix(activates, 0).UTC()
		return &k, err
	})
	return keys, mapError("list signing keys", err)
}
