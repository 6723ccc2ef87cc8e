// Package cache is a bounded LRU with hit and miss counts, for recommendation results.
package cache // import "github.com/recobs/recobs/recsvc/internal/cache"

import (
	"container/list"
	"sync"
	"sync/atomic"
)

// LRU holds at most capacity entries; the least recently used is evicted first.
type LRU[K comparable, V any] struct {
	capacity int

	mu    sync.Mutex
	order *list.List // front = most recent; elements hold *entry[K, V]
	items map[K]*list.Element

	hits, misses, evictions atomic.Uint64
}

type entry[K comparable, V any] struct {
	key K
	val V
}

// New returns an LRU that holds up to capacity entries (at least 1).
func New[K comparable, V any](capacity int) *LRU[K, V] {
	if capacity < 1 {
		capacity = 1
	}
	return &LRU[K, V]{capacity: capacity, order: list.New(), items: make(map[K]*list.Element, capacity)}
}

// Get returns the value under key and counts a hit or a miss.
func (c *LRU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	var val V
	if ok {
		c.order.MoveToFront(el)
		val = el.Value.(*entry[K, V]).val // under the lock: Put may replace it
	}
	c.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		return val, false
	}
	c.hits.Add(1)
	return val, true
}

// Put stores val under key, evicting the least recently used entry when full.
func (c *LRU[K, V]) Put(key K, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*entry[K, V]).val = val
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key: key, val: val})
	if c.order.Len() > c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[K, V]).key)
		c.evictions.Add(1)
	}
}

// Len is the number of entries held.
func (c *LRU[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Stats are cumulative counts since the cache was made.
type Stats struct{ Hits, Misses, Evictions uint64 }

// HitRate is hits / (hits + misses), 0 before any lookup.
func (s Stats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// Stats returns the counts so far.
func (c *LRU[K, V]) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
}
