package otp

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"
)

// CodeCache computes codes like Code and remembers each one for the time
// step it belongs to. A screen that shows many accounts and refreshes every
// second asks for the same codes thirty times a period; only the first ask
// pays for the HMAC. Codes not asked for during about a minute are forgotten,
// so the cache holds no more than the accounts in use.
//
// Entries are found by a seeded 64-bit hash of the key, so the cache holds no
// copy of any secret.
//
// The zero value is ready to use. It is safe for concurrent use.
type CodeCache struct {
	mu        sync.Mutex
	seed      maphash.Seed
	epoch     int64             // t.Unix()/cacheEpoch of the last call
	cur, prev map[uint64]string // by cacheID; prev is the previous epoch's
}

// cacheEpoch is how often, in seconds of the times asked about, the cache
// drops what has not been used since the epoch before.
const cacheEpoch = 60

// Code is Code(k, t), from the cache when it was computed before.
func (c *CodeCache) Code(k Key, t time.Time) (string, error) {
	k = k.Normalize()
	if err := k.Validate(); err != nil {
		return "", err
	}
	counter, err := k.counter(t)
	if err != nil {
		return "", err
	}

	c.mu.Lock()
	if c.cur == nil {
		c.seed = maphash.MakeSeed()
	}
	if epoch := t.Unix() / cacheEpoch; epoch != c.epoch || c.cur == nil {
		c.epoch, c.prev, c.cur = epoch, c.cur, make(map[uint64]string, len(c.cur))
	}
	id := cacheID(c.seed, k, counter)
	code, ok := c.cur[id]
	if !ok {
		if code, ok = c.prev[id]; ok {
			c.cur[id] = code
		}
	}
	c.mu.Unlock()
	if ok {
		return code, nil
	}

	code, err = CodeAtCounter(k, counter)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.cur[id] = code
	c.mu.Unlock()
	return code, nil
}

// cacheID hashes everything a normalized key's code at counter depends on.
func cacheID(seed maphash.Seed, k Key, counter uint64) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	var head [8]byte
	h.Write(binary.BigEndian.AppendUint64(head[:0], counter))
	h.WriteByte(byte(k.Digits))
	h.WriteString(string(k.Algorithm))
	h.WriteByte(0)
	h.WriteString(k.Encoder)
	h.WriteByte(0)
	h.Write(k.Secret)
	return h.Sum64()
}
