// Package sealed encrypts small secrets kept in the database (the private
// signing keys) with AES-256-GCM under a key derived from SECRET_KEY. The
// first secret of the list seals; every secret of the list opens, so that
// SECRET_KEY rotates as it does for HS256 tokens: put the new key first,
// keep the old one until everything sealed with it has been sealed again
// or is no longer needed.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// version is the first byte of every sealed value, so that a later format
// can be told apart.
const version = 1

// info separates this use of SECRET_KEY from its others (HS256 tokens,
// cursors): the derived key is of no use to them, nor theirs to this.
const info = "widgetapi sealed v1"

// ErrOpen is returned when no secret of the list opens a value: it was
// sealed under a secret no longer in SECRET_KEY, for another context, or
// it was altered.
var ErrOpen = errors.New("sealed: no key of SECRET_KEY opens this value")

// Box seals and opens values.
type Box struct {
	aeads []cipher.AEAD
}

// New returns a Box keyed from secrets, the first of which seals.
func New(secrets [][]byte) (*Box, error) {
	if len(secrets) == 0 {
		return nil, errors.New("sealed: at least one secret is required")
	}
	b := &Box{}
	for i, s := range secrets {
		if len(s) == 0 {
			return nil, fmt.Errorf("sealed: secret %d is empty", i+1)
		}
		k, err := hkdf.Key(sha256.New, s, nil, info, 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		b.aeads = append(b.aeads, aead)
	}
	return b, nil
}

// Seal encrypts plaintext bound to context (e.g. the id of the key it
// holds), so that a sealed value moved to another row does not open there.
func (b *Box) Seal(plaintext, context []byte) ([]byte, error) {
	aead := b.aeads[0]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = version
	// Few values are ever sealed under one key, far below the 2^32 random
	// nonces GCM allows.
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1:], plaintext, context), nil
}

// Open decrypts a value Seal made with any secret of the list, for the
// same context. ErrOpen when none opens it.
func (b *Box) Open(sealed, context []byte) ([]byte, error) {
	for _, aead := range b.aeads {
		n := aead.NonceSize()
		if len(sealed) < 1+n+aead.Overhead() || sealed[0] != version {
			return nil, ErrOpen
		}
		if p, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], context); err == nil {
			return p, nil
		}
	}
	return nil, ErrOpen
}
