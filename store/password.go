package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword returns an argon2id hash in the PHC string format.
func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether password matches the PHC-encoded argon2id hash.
func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var memory uint32
	var passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when an email is unknown, so a wrong email costs as much
// time as a wrong password and timing does not tell which one was wrong.
var dummyHash = hashPassword("hookhouse-timing-equaliser")

// Each argon2id hash takes argonMemory (19 MiB) and a core for tens of milliseconds: 100 sign-ins
// at once took 1.8 GB. At most maxHashing run at once; up to maxHashWaiting more wait their
// turn, and beyond that a caller gets ErrBusy at once rather than piling up.
const (
	maxHashing     = 2
	maxHashWaiting = 16
)

// hashGate bounds the password hashes computed at once.
type hashGate struct {
	slots   chan struct{}
	waiting atomic.Int32
}

func newHashGate() *hashGate {
	return &hashGate{slots: make(chan struct{}, maxHashing)}
}

// do runs hash when a slot is free. It returns ErrBusy when too many callers wait already,
// and ctx's error when the caller goes away while waiting.
func (g *hashGate) do(ctx context.Context, hash func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > maxHashWaiting {
			g.waiting.Add(-1)
			return ErrBusy
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	hash()
	return nil
}
