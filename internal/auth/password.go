// Package auth holds Corkboard's account logic: argon2id password hashes,
// session and API-token secrets (only their hashes are stored), login
// throttling, and the account service the HTTP API calls.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// TestParams are cheap, for tests only.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// HashPassword returns the PHC-format argon2id hash of password with a fresh
// random salt: $argon2id$v=19$m=…,t=…,p=…$salt$key.
func HashPassword(password string, p Params) string {
	salt := make([]byte, saltLen)
	rand.Read(salt) //nolint:errcheck // crypto/rand.Read never fails
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

var errBadHash = errors.New("auth: not an argon2id hash")

// Bounds on the parameters a stored hash may carry. Hashes come from our own
// database, but a corrupted or planted one must fail with an error, not make
// argon2 panic (it does for t=0 or p=0) or allocate without limit.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 64
	minSalt   = 8
	maxSalt   = 64
	minKey    = 16
	maxKey    = 128
)

// decodeHash parses a PHC-format argon2id hash strictly: the canonical
// $argon2id$v=19$m=…,t=…,p=…$salt$key with parameters within bounds.
func decodeHash(hash string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) {
		return Params{}, nil, nil, errBadHash
	}
	if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return Params{}, nil, nil, errBadHash
	}
	// The decoder skips newlines: compare the re-encoding to be strict.
	enc := base64.RawStdEncoding
	salt, err = enc.DecodeString(parts[4])
	if err != nil || len(salt) < minSalt || len(salt) > maxSalt || enc.EncodeToString(salt) != parts[4] {
		return Params{}, nil, nil, errBadHash
	}
	key, err = enc.DecodeString(parts[5])
	if err != nil || len(key) < minKey || len(key) > maxKey || enc.EncodeToString(key) != parts[5] {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// CheckPassword reports whether password matches the hash, in time that does
// not depend on where they differ. The hash carries its own parameters, so
// hashes made with older parameters keep working. A hash that is not a
// well-formed argon2id hash with sane parameters is an error.
func CheckPassword(password, hash string) (bool, error) {
	p, salt, want, err := decodeHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Secret prefixes tell a session secret from an API token at a glance (and
// to secret scanners).
const (
	sessionPrefix = "cbs_"
	tokenPrefix   = "cbt_"
)

// NewSecret returns a fresh random secret with the prefix and its hash, which
// is what the database keeps.
func NewSecret(prefix string) (secret string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a secret. The secrets are 256 random
// bits, so a plain SHA-256 is enough (no salt or stretching needed).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
