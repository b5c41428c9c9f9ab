package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SecretKeyFile is the key hookhouse makes in the data folder when HOOKHOUSE_SECRET_KEY is
// not given.
const SecretKeyFile = "secret.key"

// ErrNoSecretKey: signing secrets cannot be saved before SetSecretKey.
var ErrNoSecretKey = errors.New("no secret key: signing secrets cannot be stored")

// ParseSecretKey reads a key given by the operator: 32 bytes in base64 (standard or URL,
// padded or not) or hex.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("HOOKHOUSE_SECRET_KEY must be 32 bytes in base64 or hex (e.g. the output of: openssl rand -base64 32)")
}

// LoadSecretKey returns the key secrets are encrypted with: given (HOOKHOUSE_SECRET_KEY), or
// read from <dataDir>/secret.key, which is created (mode 0600, 32 random bytes in base64) on
// first start. created says it was just made, so it can be logged once.
func LoadSecretKey(given, dataDir string) (key []byte, created bool, err error) {
	if given != "" {
		key, err := ParseSecretKey(given)
		return key, false, err
	}
	path := filepath.Join(dataDir, SecretKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("creating %s: %w", path, err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return nil, false, fmt.Errorf("writing %s: %w", path, err)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	key, err = ParseSecretKey(string(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return key, false, nil
}

// secretBox seals signing secrets with AES-256-GCM. Each ciphertext is bound to its
// integration (the additional data), so a row copied to another integration fails to open.
type secretBox struct{ aead cipher.AEAD }

func newSecretBox(key []byte) (*secretBox, error) {
	if len(key) != 32 {
		return nil, errors.New("the secret key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secretBox{aead: aead}, nil
}

func secretAAD(integrationID int64) []byte {
	return strconv.AppendInt([]byte("hookhouse signing secret of integration "), integrationID, 10)
}

func (b *secretBox) seal(integrationID int64, plaintext string) []byte {
	return b.sealBytes(secretAAD(integrationID), []byte(plaintext))
}

func (b *secretBox) open(integrationID int64, sealed []byte) (string, error) {
	plain, err := b.openBytes(secretAAD(integrationID), sealed)
	return string(plain), err
}

// sealBytes returns nonce || ciphertext, bound to aad (what the row is for).
func (b *secretBox) sealBytes(aad, plaintext []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, aad)
}

func (b *secretBox) openBytes(aad, sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret too short")
	}
	return b.aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// SetSecretKey gives the store the key signing secrets are sealed with. It fails, naming the
// integration, when a secret already stored does not open with it: started with another key,
// hookhouse would refuse every signed webhook, so it is better not to start.
func (s *Store) SetSecretKey(ctx context.Context, key []byte) error {
	box, err := newSecretBox(key)
	if err != nil {
		return err
	}
	if err := box.opensAll(ctx, s.read); err != nil {
		return err
	}
	s.box.Store(box)
	s.targets.forget()
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// opensAll fails, naming the integration, unless the box opens every stored signing secret.
func (b *secretBox) opensAll(ctx context.Context, db queryer) error {
	rows, err := db.QueryContext(ctx, "SELECT integration_id, sealed FROM signing_secrets")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return err
		}
		if _, err := b.open(id, sealed); err != nil {
			return fmt.Errorf("the secret key cannot decrypt the signing secrets stored for integration %d: start hookhouse with the key they were saved with (HOOKHOUSE_SECRET_KEY, or %s in the data folder)", id, SecretKeyFile)
		}
	}
	return rows.Err()
}
