-- Asymmetric token signing keys (TOKEN_ALG EdDSA or ES256), shared by every
-- process. slot is unique so that processes making a key at the same
-- moment cannot both succeed. The private key is sealed with SECRET_KEY.
-- +goose Up
CREATE TABLE signing_keys (
    kid          text        PRIMARY KEY,
    slot         bigint      NOT NULL UNIQUE,
    alg          text        NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
    public_key   bytea       NOT NULL,
    private_key  bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
