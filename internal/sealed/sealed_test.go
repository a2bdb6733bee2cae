package sealed

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	old := []byte("an-old-secret-key-of-at-least-32-bytes")
	cur := []byte("the-current-secret-key-of-at-least-32-bytes")
	other := []byte("a-secret-key-of-another-deployment-entirely")
	byOld, err := New([][]byte{old})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := New([][]byte{cur, old})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := New([][]byte{other})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("a private key")
	s, err := byOld.Seal(secret, []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s, secret) {
		t.Fatal("the sealed value holds the plaintext")
	}
	// Sealed under the old secret, opened by a list that still holds it.
	if p, err := rotated.Open(s, []byte("kid-1")); err != nil || !bytes.Equal(p, secret) {
		t.Fatalf("rotated.Open = %q, %v", p, err)
	}
	s2, err := rotated.Seal(secret, []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byOld.Open(s2, []byte("kid-1")); !errors.Is(err, ErrOpen) {
		t.Errorf("a list without the sealing secret opened it: %v", err)
	}
	if _, err := foreign.Open(s, []byte("kid-1")); !errors.Is(err, ErrOpen) {
		t.Errorf("another deployment's secret opened it: %v", err)
	}
	if _, err := rotated.Open(s, []byte("kid-2")); !errors.Is(err, ErrOpen) {
		t.Errorf("opened for another context: %v", err)
	}
	flipped := bytes.Clone(s)
	flipped[len(flipped)-1] ^= 1
	if _, err := rotated.Open(flipped, []byte("kid-1")); !errors.Is(err, ErrOpen) {
		t.Errorf("an altered value opened: %v", err)
	}
	for _, short := range [][]byte{nil, {version}, s[:20]} {
		if _, err := rotated.Open(short, []byte("kid-1")); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%x) = %v, want ErrOpen", short, err)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}
