package widgetapi

import "time"

// SigningKey is one asymmetric token signing key as the database keeps it.
// Slot numbers keys in the order they were made; it is unique, so that
// processes that make a key at the same moment cannot both succeed.
type SigningKey struct {
	KID  string
	Slot int64
	Alg  string // EdDSA or ES256
	// PublicKey is PKIX DER; PrivateKey is PKCS #8 DER sealed with
	// SECRET_KEY (internal/sealed), bound to the KID.
	PublicKey  []byte
	PrivateKey []byte
	CreatedAt  time.Time
	// ActivatesAt is when the key starts signing: verifiers learn of it
	// from the JWKS before then.
	ActivatesAt time.Time
}
