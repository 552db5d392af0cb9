// Package cache is the one kind of cache on the decision path: a table
// keyed by content (a fingerprint or a digest of what the value was computed
// from, never a pointer), bounded, emptied whole when full, that counts its
// hits. The engine keeps its decisions, outcomes, parsed profiles and
// written sections in Tables, and the NRI edge its converted sections; each
// reports its size and hit counts through Stats, so what every cache holds
// and saves is read in one place.
//
// Emptying a full table whole, rather than evicting one entry, is enough
// here: a node runs a few hundred containers at most, the bounds are above
// that, and a miss only costs recomputing one value.
package cache

import "sync"

// Table is a bounded map from content keys to values computed from that
// content. It is safe for concurrent use. The zero Table is not usable;
// make one with New.
type Table[K comparable, V any] struct {
	name string
	max  int

	mu     sync.Mutex
	m      map[K]V
	hits   uint64
	misses uint64
	clears uint64
}

// New returns a table holding at most max entries; max <= 0 disables it
// (Get always misses, Put keeps nothing).
func New[K comparable, V any](name string, max int) *Table[K, V] {
	t := &Table[K, V]{name: name, max: max}
	if max > 0 {
		t.m = make(map[K]V)
	}
	return t
}

// Enabled reports whether the table keeps anything, so that callers can
// skip computing a key for a table that is off.
func (t *Table[K, V]) Enabled() bool { return t.max > 0 }

// Get returns the value for k, if the table holds one.
func (t *Table[K, V]) Get(k K) (V, bool) {
	if t.max <= 0 {
		var zero V
		return zero, false
	}
	t.mu.Lock()
	v, ok := t.m[k]
	if ok {
		t.hits++
	} else {
		t.misses++
	}
	t.mu.Unlock()
	return v, ok
}

// Put stores v for k, emptying the table first when it is full.
func (t *Table[K, V]) Put(k K, v V) {
	if t.max <= 0 {
		return
	}
	t.mu.Lock()
	t.put(k, v)
	t.mu.Unlock()
}

// Intern returns the value the table holds for k, or stores v and returns
// it: values computed from equal content are kept once.
func (t *Table[K, V]) Intern(k K, v V) V {
	if t.max <= 0 {
		return v
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[k]; ok {
		t.hits++
		return old
	}
	t.misses++
	t.put(k, v)
	return v
}

// put stores v; t.mu is held.
func (t *Table[K, V]) put(k K, v V) {
	if _, ok := t.m[k]; !ok && len(t.m) >= t.max {
		clear(t.m)
		t.clears++
	}
	t.m[k] = v
}

// Stats is what a table holds and what it has saved.
type Stats struct {
	Name   string `json:"name"`
	Len    int    `json:"len"`
	Max    int    `json:"max"`
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	Clears uint64 `json:"clears"` // times the table was full and emptied
}

// Stats returns the table's size and counters.
func (t *Table[K, V]) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{Name: t.name, Len: len(t.m), Max: t.max, Hits: t.hits, Misses: t.misses, Clears: t.clears}
}
