package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashAndCheckRoundTrip(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"correct horse battery staple", "pässwörd-ünïcode", strings.Repeat("x", 256), ""} {
		h := HashPassword(pw, TestParams)
		if ok, err := CheckPassword(pw, h); !ok || err != nil {
			t.Errorf("CheckPassword(%q, own hash) = %v, %v", pw, ok, err)
		}
		for _, wrong := range []string{pw + "x", strings.ToUpper(pw) + "!", "", " " + pw} {
			if wrong == pw {
				continue
			}
			if ok, err := CheckPassword(wrong, h); ok || err != nil {
				t.Errorf("CheckPassword(%q, hash of %q) = %v, %v; want false, nil", wrong, pw, ok, err)
			}
		}
	}
}

// Two hashes of one password differ (a fresh salt each time) and both check.
func TestHashIsSalted(t *testing.T) {
	t.Parallel()
	a, b := HashPassword("same password", TestParams), HashPassword("same password", TestParams)
	if a == b {
		t.Fatalf("two hashes of one password are equal: %s", a)
	}
	_, saltA, keyA, errA := decodeHash(a)
	_, saltB, keyB, errB := decodeHash(b)
	if errA != nil || errB != nil {
		t.Fatalf("decode: %v, %v", errA, errB)
	}
	if bytes.Equal(saltA, saltB) || bytes.Equal(keyA, keyB) {
		t.Errorf("salts or keys repeat: %s / %s", a, b)
	}
	if len(saltA) != saltLen || len(keyA) != keyLen {
		t.Errorf("salt %d bytes, key %d bytes; want %d, %d", len(saltA), len(keyA), saltLen, keyLen)
	}
}

// The hash is a PHC string that embeds its parameters, and checking uses
// those, not the current defaults: hashes made with other costs keep working.
func TestParamsEmbedded(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{TestParams, {Memory: 128, Time: 3, Threads: 2}, DefaultParams} {
		h := HashPassword("pw", p)
		want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.Memory, p.Time, p.Threads)
		if !strings.HasPrefix(h, want) {
			t.Errorf("hash %s does not start with %s", h, want)
		}
		got, _, _, err := decodeHash(h)
		if err != nil || got != p {
			t.Errorf("decodeHash(%s) = %+v, %v; want %+v", h, got, err, p)
		}
		if ok, err := CheckPassword("pw", h); !ok || err != nil {
			t.Errorf("check with params %+v: %v, %v", p, ok, err)
		}
	}
	if DefaultParams.Memory < 19*1024 || DefaultParams.Time < 2 || DefaultParams.Threads < 1 {
		t.Errorf("DefaultParams %+v are below OWASP's argon2id minimum (m=19 MiB, t=2, p=1)", DefaultParams)
	}
}

// CheckPassword derives a key of the stored key's length and compares all of
// it: a difference at any byte (first, middle, last) is a mismatch, and a key
// of another length than ours (made elsewhere) still verifies.
func TestCheckComparesWholeKey(t *testing.T) {
	t.Parallel()
	salt := []byte("0123456789abcdef")
	for _, n := range []int{16, 32, 64} {
		key := argon2.IDKey([]byte("pw"), salt, 1, 64, 1, uint32(n))
		enc := func(k []byte) string {
			return "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" +
				base64.RawStdEncoding.EncodeToString(k)
		}
		if ok, err := CheckPassword("pw", enc(key)); !ok || err != nil {
			t.Errorf("%d-byte key: %v, %v", n, ok, err)
		}
		for _, i := range []int{0, n / 2, n - 1} {
			k := bytes.Clone(key)
			k[i] ^= 1
			if ok, err := CheckPassword("pw", enc(k)); ok || err != nil {
				t.Errorf("%d-byte key flipped at %d: %v, %v; want false, nil", n, i, ok, err)
			}
		}
		// A prefix of the right key is not the key.
		if ok, _ := CheckPassword("pw", enc(key[:n-1])); ok {
			t.Errorf("a %d-byte prefix of the key verified", n-1)
		}
	}
}

// Anything but a well-formed argon2id hash with sane parameters is an error,
// never a panic (argon2 panics on t=0 or p=0) nor an unbounded allocation.
func TestCheckRefusesBadHashes(t *testing.T) {
	t.Parallel()
	good := HashPassword("pw", TestParams)
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	with := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	bad := []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		with("m=64,t=0,p=1"), // argon2 panics on these two
		with("m=64,t=1,p=0"),
		with("m=64,t=1,p=256"),
		with("m=4294967295,t=1,p=1"), // 4 TiB
		with("m=64,t=4294967295,p=1"),
		with("m=7,t=1,p=1"),
		with("m=-64,t=1,p=1"),
		with("m=64,t=1,p=1,x=2"),
		with("m=64,t=1,p=1x"),
		with("m=064,t=1,p=1"),
		with("m=+64,t=1,p=1"),
		with(" m=64,t=1,p=1"),
		with("t=1,m=64,p=1"),
		"$argon2id$v=19$m=64,t=1,p=1$$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "==",
		"$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(make([]byte, 4)) + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 4096)),
	}
	for _, h := range bad {
		ok, err := CheckPassword("pw", h)
		if ok || err == nil {
			t.Errorf("CheckPassword(pw, %q) = %v, %v; want an error", h, ok, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, prefix := range []string{sessionPrefix, tokenPrefix} {
		for range 100 {
			secret, hash := NewSecret(prefix)
			if !strings.HasPrefix(secret, prefix) {
				t.Fatalf("secret %q lacks prefix %q", secret, prefix)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, prefix))
			if err != nil || len(raw) != 32 {
				t.Fatalf("secret %q: %d random bytes, %v; want 32", secret, len(raw), err)
			}
			if seen[secret] {
				t.Fatalf("secret %q repeats", secret)
			}
			seen[secret] = true
			sum := sha256.Sum256([]byte(secret))
			if !bytes.Equal(hash, sum[:]) || !bytes.Equal(HashSecret(secret), hash) {
				t.Fatalf("hash of %q is %x, want its SHA-256 %x", secret, hash, sum)
			}
			if bytes.Contains(hash, []byte(secret)) || strings.Contains(string(hash), prefix) {
				t.Fatalf("the stored hash %x reveals the secret", hash)
			}
		}
	}
	if bytes.Equal(HashSecret("cbs_a"), HashSecret("cbs_b")) {
		t.Error("two secrets hash alike")
	}
}

// FuzzCheckPassword: CheckPassword never panics; a hash it accepts is a
// canonical argon2id PHC string within bounds; a password checks against
// a hash only if that hash is the password's.
func FuzzCheckPassword(f *testing.F) {
	good := HashPassword("pw", TestParams)
	f.Add("pw", good)
	f.Add("other", good)
	f.Add("pw", strings.Replace(good, "t=1", "t=0", 1))
	f.Add("pw", strings.Replace(good, "p=1", "p=0", 1))
	f.Add("pw", strings.Replace(good, "m=64", "m=99999999999", 1))
	f.Add("pw", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("", "$argon2id$v=19$$$$")
	f.Add("pw", "$$$$$")
	f.Fuzz(func(t *testing.T, password, hash string) {
		p, salt, key, err := decodeHash(hash)
		if err != nil {
			if ok, cerr := CheckPassword(password, hash); ok || cerr == nil {
				t.Fatalf("decode refused %q (%v) but CheckPassword = %v, %v", hash, err, ok, cerr)
			}
			return
		}
		canon := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
		if canon != hash {
			t.Fatalf("accepted %q, which is not canonical (%q)", hash, canon)
		}
		if p.Time < 1 || p.Threads < 1 || p.Memory > maxMemory || p.Time > maxTime {
			t.Fatalf("accepted %q with parameters %+v out of bounds", hash, p)
		}
		// Derive only when it is cheap: the bounds allow costs a fuzzer
		// should not pay thousands of times a second.
		if p.Memory > 4096 || p.Time > 4 || p.Threads > 4 {
			return
		}
		ok, err := CheckPassword(password, hash)
		if err != nil {
			t.Fatalf("CheckPassword(%q, %q): %v after the hash decoded", password, hash, err)
		}
		want := bytes.Equal(argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key))), key)
		if ok != want {
			t.Fatalf("CheckPassword(%q, %q) = %v, want %v", password, hash, ok, want)
		}
	})
}
