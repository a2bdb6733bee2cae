-- Asymmetric token signing keys (TOKEN_ALG EdDSA or ES256), shared by every
-- process. slot is unique so that processes making a key at the same
-- moment cannot both succeed. The private key is sealed with SECRET_KEY.
-- +goose Up
CREATE TABLE signing_keys (
    kid          TEXT    PRIMARY KEY,
    slot         INTEGER NOT NULL UNIQUE,
    alg          TEXT    NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
    public_key   BLOB    NOT NULL,
    private_key  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE signing_keys;
