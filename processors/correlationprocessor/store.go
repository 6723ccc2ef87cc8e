package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"container/list"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ids is a learned request's trace context.
type ids struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type learned struct {
	requestID string
	ids       ids
	at        time.Time
}

// table maps request IDs to trace context, bounded by entries and TTL. Insertion order is
// eviction order: the oldest learned request goes first.
type table struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	order   *list.List // of *learned, oldest at the front
	entries map[string]*list.Element
	evicted uint64
}

func newTable(max int, ttl time.Duration) *table {
	return &table{max: max, ttl: ttl, order: list.New(), entries: make(map[string]*list.Element, min(max, 1<<16))}
}

// learn records the trace context of a request's server span; the first span seen for a
// request wins (it is the entry span; later ones are its children or retries).
func (t *table) learn(requestID string, v ids, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[requestID]; ok {
		return
	}
	t.entries[requestID] = t.order.PushBack(&learned{requestID: requestID, ids: v, at: now})
	for t.order.Len() > t.max {
		t.removeOldest()
		t.evicted++
	}
}

func (t *table) lookup(requestID string, now time.Time) (ids, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.entries[requestID]
	if !ok {
		return ids{}, false
	}
	l := el.Value.(*learned)
	if now.Sub(l.at) > t.ttl {
		return ids{}, false
	}
	return l.ids, true
}

// expire drops entries past their TTL.
func (t *table) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.order.Len() > 0 && now.Sub(t.order.Front().Value.(*learned).at) > t.ttl {
		t.removeOldest()
	}
}

func (t *table) removeOldest() {
	el := t.order.Front()
	t.order.Remove(el)
	delete(t.entries, el.Value.(*learned).requestID)
}

func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
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
		st = &sharedTable{table: newTable(cfg.MaxEntries, cfg.TTL)}
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
