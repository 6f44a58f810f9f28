package approval

import "sync"

// broker wakes the local waiters (streams, polls, browsers waiting for a
// decision) of an account whenever its events may have changed. A wake
// carries no data: waiters re-read the store, so a wake from another
// instance and a local one are the same.
type broker struct {
	mu   sync.Mutex
	subs map[string]map[*sub]struct{}
}

// sub is one waiter; wake holds at most one pending wake-up.
type sub struct {
	user string
	wake chan struct{}
}

func newBroker() *broker {
	return &broker{subs: make(map[string]map[*sub]struct{})}
}

func (b *broker) subscribe(userID string) *sub {
	s := &sub{user: userID, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.subs[userID]
	if m == nil {
		m = make(map[*sub]struct{})
		b.subs[userID] = m
	}
	m[s] = struct{}{}
	return s
}

func (b *broker) unsubscribe(s *sub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.subs[s.user]
	delete(m, s)
	if len(m) == 0 {
		delete(b.subs, s.user)
	}
}

func (b *broker) wake(userID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[userID] {
		s.poke()
	}
}

func (b *broker) wakeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.subs {
		for s := range m {
			s.poke()
		}
	}
}

func (s *sub) poke() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}
