package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ids is a learned request's trace context.
type ids struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// entryBytes is the heap one learned request ID costs at most, map and ring included, at
// the worst point of the map's growth (TestTableBytesPerEntry holds the table to it);
// max_bytes is turned into entries with it.
const entryBytes = 144

// tableShards spreads the lock: the traces side learns while the logs side looks up.
const tableShards = 16

// key is a 128-bit hash of a request ID. Storing the hash, not the string, keeps an entry
// small and fixed-size whatever the ID's format; two 64-bit seeds make a collision between
// a million live IDs about 2^-88 likely.
type key [2]uint64

var seedLo, seedHi = maphash.MakeSeed(), maphash.MakeSeed()

func keyOf(requestID string) key {
	return key{maphash.String(seedLo, requestID), maphash.String(seedHi, requestID)}
}

type entry struct {
	ids ids
	at  int64 // unix nanoseconds when learned
}

// shard keeps its keys in a ring in learning order, so its oldest is evicted or expired
// first in O(1), and the ring grows only as entries come.
type shard struct {
	mu      sync.Mutex
	entries map[key]entry
	ring    []key
	head, n int // ring[head] is the oldest of n keys
}

// table maps request IDs to trace context, bounded by entries (and through them bytes) and
// TTL. The cap is global, so an uneven spread of IDs over the shards never evicts early.
type table struct {
	ttl     time.Duration
	max     int64
	count   atomic.Int64
	evicted atomic.Uint64
	shards  [tableShards]shard
}

// capacity is the entry cap that honours both max_entries and max_bytes.
func capacity(maxEntries, maxBytes int) int {
	c := maxEntries
	if maxBytes > 0 {
		c = min(c, maxBytes/entryBytes)
	}
	return max(c, 1)
}

func newTable(maxEntries int, ttl time.Duration) *table {
	t := &table{ttl: ttl, max: int64(maxEntries)}
	for i := range t.shards {
		t.shards[i].entries = map[key]entry{}
	}
	return t
}

func (t *table) shardOf(k key) int { return int(k[0] % tableShards) }

// learn records the trace context of a request's server span; the first span seen for a
// request wins (it is the entry span; later ones are its children or retries).
func (t *table) learn(requestID string, v ids, now time.Time) {
	k := keyOf(requestID)
	home := t.shardOf(k)
	s := &t.shards[home]
	s.mu.Lock()
	if _, ok := s.entries[k]; ok {
		s.mu.Unlock()
		return
	}
	s.push(k)
	s.entries[k] = entry{ids: v, at: now.UnixNano()}
	over := t.count.Add(1) > t.max
	if over && s.n > 1 {
		s.removeOldest()
		t.count.Add(-1)
		t.evicted.Add(1)
		over = false
	}
	s.mu.Unlock()
	if over {
		// The home shard holds only the new entry: evict elsewhere, one lock at a time.
		for i := 1; i < tableShards; i++ {
			o := &t.shards[(home+i)%tableShards]
			o.mu.Lock()
			if o.n > 0 {
				o.removeOldest()
				o.mu.Unlock()
				t.count.Add(-1)
				t.evicted.Add(1)
				return
			}
			o.mu.Unlock()
		}
	}
}

func (t *table) lookup(requestID string, now time.Time) (ids, bool) {
	k := keyOf(requestID)
	s := &t.shards[t.shardOf(k)]
	s.mu.Lock()
	e, ok := s.entries[k]
	s.mu.Unlock()
	if !ok || now.UnixNano()-e.at > int64(t.ttl) {
		return ids{}, false
	}
	return e.ids, true
}

// expire drops entries past their TTL.
func (t *table) expire(now time.Time) {
	limit := now.UnixNano() - int64(t.ttl)
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for s.n > 0 && s.entries[s.ring[s.head]].at < limit {
			s.removeOldest()
			t.count.Add(-1)
		}
		s.mu.Unlock()
	}
}

func (t *table) len() int { return int(t.count.Load()) }

func (t *table) evictions() uint64 { return t.evicted.Load() }

func (s *shard) push(k key) {
	if s.n == len(s.ring) {
		// Grow by a quarter (less slack than doubling), unrolling the ring so the oldest is
		// first again.
		grown := make([]key, max(len(s.ring)+len(s.ring)/4, 64))
		for i := range s.n {
			grown[i] = s.ring[(s.head+i)%len(s.ring)]
		}
		s.ring, s.head = grown, 0
	}
	s.ring[(s.head+s.n)%len(s.ring)] = k
	s.n++
}

func (s *shard) removeOldest() {
	delete(s.entries, s.ring[s.head])
	s.head = (s.head + 1) % len(s.ring)
	s.n--
	if s.n == 0 {
		// Go maps never shrink; a drained shard starts afresh so a burst's memory is returned.
		s.entries, s.ring, s.head = map[key]entry{}, nil, 0
	}
}

// shared holds one table per store name, for the logs and traces instances to share, with a
// reference count so the last instance to shut down frees it.
var shared = struct {
	sync.Mutex
	tables map[string]*sharedTable
}{tables: map[string]*sharedTable{}}

type sharedTable struct {
	*table
	refs int
}

func acquire(cfg *Config) *table {
	shared.Lock()
	defer shared.Unlock()
	st, ok := shared.tables[cfg.Store]
	if !ok {
		st = &sharedTable{table: newTable(capacity(cfg.MaxEntries, cfg.MaxBytes), cfg.TTL)}
		shared.tables[cfg.Store] = st
	}
	st.refs++
	return st.table
}

func release(cfg *Config) {
	shared.Lock()
	defer shared.Unlock()
	if st, ok := shared.tables[cfg.Store]; ok {
		if st.refs--; st.refs <= 0 {
			delete(shared.tables, cfg.Store)
		}
	}
}
