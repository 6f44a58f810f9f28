package seckey

import (
	"bytes"
	"context"
	"sync"

	"github.com/countersign/countersign/internal/store"
)

// fakeStore keeps security keys and challenges in memory; every other
// method of store.Store panics (nil embedded interface).
type fakeStore struct {
	store.Store
	mu         sync.Mutex
	keys       []store.SecurityKey
	challenges map[string]store.Challenge
	users      []*store.User // found by UserByWebAuthnID
}

func newFakeStore() *fakeStore {
	return &fakeStore{challenges: map[string]store.Challenge{}}
}

func (f *fakeStore) AddSecurityKey(_ context.Context, k *store.SecurityKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.keys {
		if bytes.Equal(o.CredentialID, k.CredentialID) {
			return store.ErrConflict
		}
	}
	f.keys = append(f.keys, *k)
	return nil
}

func (f *fakeStore) SecurityKeys(_ context.Context, userID string) ([]store.SecurityKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.SecurityKey
	for _, k := range f.keys {
		if k.UserID == userID {
			out = append(out, k)
		}
	}
	return out, nil
}

func (f *fakeStore) UpdateSecurityKey(_ context.Context, k *store.SecurityKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, o := range f.keys {
		if o.ID == k.ID && o.UserID == k.UserID {
			f.keys[i].Name, f.keys[i].Credential, f.keys[i].LastUsedAt = k.Name, k.Credential, k.LastUsedAt
			return nil
		}
	}
	return store.ErrNotFound
}

func (f *fakeStore) AddChallenge(_ context.Context, c *store.Challenge) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.challenges[c.ID]; ok {
		return store.ErrConflict
	}
	f.challenges[c.ID] = *c
	return nil
}

func (f *fakeStore) TakeChallenge(_ context.Context, id string) (*store.Challenge, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.challenges[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	delete(f.challenges, id)
	return &c, nil
}

func (f *fakeStore) UserByWebAuthnID(_ context.Context, handle []byte) (*store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if bytes.Equal(u.WebAuthnID, handle) {
			c := *u
			return &c, nil
		}
	}
	return nil, store.ErrNotFound
}
