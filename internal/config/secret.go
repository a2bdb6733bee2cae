package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"widgetapi/auth"
)

// ResolveSecret makes sure there is a signing key. Production must be given
// one; development and testing generate one once and keep it in DATA_DIR, so
// that tokens survive restarts without any set-up.
func (c *Config) ResolveSecret() error {
	if len(c.SecretKeys) > 0 {
		return nil
	}
	if c.Env == Production {
		return errors.New("SECRET_KEY: required in production, at least 32 bytes (generate one with: openssl rand -hex 32)")
	}
	path := filepath.Join(c.DataDir, "secret_key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = createSecret(c.DataDir, path); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("DATA_DIR: read %s: %w", path, err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < auth.MinKeyLength {
		return fmt.Errorf("DATA_DIR: %s holds a key shorter than %d bytes; delete it to generate a new one", path, auth.MinKeyLength)
	}
	c.SecretKeys = [][]byte{[]byte(key)}
	c.SecretSource = path
	return nil
}

// createSecret writes a new random key to path, unless another process that
// started at the same moment wrote one first, and returns the key at path.
// The key is written in full to a file of its own, then linked into place:
// a link never replaces an existing file, and path only ever names a
// complete key, so no process reads one half-written.
func createSecret(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: create %s: %w", dir, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	key := []byte(hex.EncodeToString(raw[:]))
	tmp, err := os.CreateTemp(dir, ".secret_key-*")
	if err != nil {
		return nil, fmt.Errorf("DATA_DIR: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600.
	_, err = tmp.Write(key)
	if err := errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("DATA_DIR: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		// Another process made it first; use theirs, which is complete.
		key, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("DATA_DIR: read %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("DATA_DIR: write %s: %w", path, err)
	}
	return key, syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("DATA_DIR: sync %s: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}
