package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
)

// Clients are the clients of token introspection (INTROSPECTION_CLIENTS).
// Only a hash of each secret is kept, so that a dump of the process's
// memory does not hold them; the secrets are long random strings, for
// which one SHA-256 is as good as a slow hash.
type Clients struct {
	hashes map[string][32]byte
	// decoy is compared against when the id is unknown, so that an
	// unknown id costs the same as a wrong secret.
	decoy [32]byte
}

// NewClients keeps the clients of secrets, by id.
func NewClients(secrets map[string]string) *Clients {
	c := &Clients{hashes: make(map[string][32]byte, len(secrets))}
	for id, s := range secrets {
		c.hashes[id] = sha256.Sum256([]byte(s))
	}
	_, _ = rand.Read(c.decoy[:])
	return c
}

// Len is the number of clients.
func (c *Clients) Len() int { return len(c.hashes) }

// Check reports whether secret is the secret of client id, in time that
// depends on neither.
func (c *Clients) Check(id, secret string) bool {
	want, known := c.hashes[id]
	if !known {
		want = c.decoy
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && known
}
