// Package feedback remembers what recsvc served recently, so a click can be checked against
// the response it came from and counted once, and keeps the click-through rate over a
// sliding window.
package feedback // import "github.com/recobs/recobs/recsvc/internal/feedback"

import (
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// Options bound what the store remembers. Whichever bound is met first forgets the oldest
// response: a click on it is then answered "unknown request", and the forgetting is counted
// by reason so an operator sees when the size bounds cut in before the TTL.
type Options struct {
	TTL        time.Duration // how long a response takes clicks
	MaxEntries int           // responses remembered at most
	MaxBytes   int64         // bytes of remembered responses at most (see entryBytes)
}

// Defaults: a click comes within seconds to minutes of its response; 10 minutes takes the
// late ones. A response of 10 results takes ~456 bytes (entryBytes), so 50,000 take ~22 MiB
// and hold 10 minutes at ~83 requests/s; a busier recsvc raises the bounds or accepts a
// shorter effective TTL, counted as forgotten by "entries".
const (
	DefaultTTL        = 10 * time.Minute
	DefaultMaxEntries = 50_000
	DefaultMaxBytes   = 24 << 20
)

// Served is one response as a click needs it.
type Served struct {
	RequestID string
	At        time.Time
	Span      trace.SpanContext // the request's server span: a click's span links to it
	Places    []string          // place ids in the order served; position = index + 1
	Segment   string            // the request's labels, which its clicks are counted under
	Category  string
	Region    string
}

// Outcome is what became of a click.
type Outcome int

const (
	Counted        Outcome = iota // the first click on that result of that response
	Duplicate                     // that result of that response was clicked before: not counted again
	UnknownRequest                // no remembered response has that request id (never served, expired or forgotten)
	NotInResults                  // the response did not contain that place
)

// Forgotten reasons, as the store counts them.
const (
	ReasonTTL = iota
	ReasonEntries
	ReasonBytes
	numReasons
)

// ReasonNames name the Forgotten reasons for metrics.
var ReasonNames = [numReasons]string{"ttl", "entries", "bytes"}

type entry struct {
	Served
	clicked []uint64 // bit i: position i+1 was clicked; allocated at the first click
	bytes   int64
}

// entryOverhead is what an entry costs beyond its strings' bytes: the entry itself, its map
// slot (key string header, value pointer, hash byte, load-factor slack) and its FIFO slot.
const entryOverhead = int64(unsafe.Sizeof(entry{})) + 48 + 8

// entryBytes is what the store counts an entry as: the overhead, the request id and the
// place-id slice (the ids' bytes are shared with the data set, not copied).
func entryBytes(s *Served) int64 {
	return entryOverhead + int64(len(s.RequestID)) + int64(cap(s.Places))*int64(unsafe.Sizeof(""))
}

// Store is the bounded memory of recent responses; safe for concurrent use.
type Store struct {
	opt Options

	mu        sync.Mutex
	byID      map[string]*entry
	fifo      []*entry // oldest first from head: responses arrive in time order
	head      int
	bytes     int64
	forgotten [numReasons]uint64
}

// NewStore makes a store; zero options take the defaults.
func NewStore(opt Options) *Store {
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.MaxEntries <= 0 {
		opt.MaxEntries = DefaultMaxEntries
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	return &Store{opt: opt, byID: make(map[string]*entry)}
}

// Options are the store's bounds, defaults applied.
func (s *Store) Options() Options { return s.opt }

// Remember keeps a response. A request id served again (a client reusing X-Request-ID)
// takes its clicks from then on; the earlier response leaves with its turn.
func (s *Store) Remember(sv Served) {
	e := &entry{Served: sv, bytes: entryBytes(&sv)}
	s.mu.Lock()
	s.expire(sv.At)
	s.byID[sv.RequestID] = e
	s.fifo = append(s.fifo, e)
	s.bytes += e.bytes
	for s.len() > s.opt.MaxEntries {
		s.dropOldest(ReasonEntries)
	}
	for s.bytes > s.opt.MaxBytes && s.len() > 1 {
		s.dropOldest(ReasonBytes)
	}
	s.mu.Unlock()
}

// Click records a click on placeID in the response to requestID. It returns the response
// (for the click's labels, span link and timing) and the place's position (1-based) when
// the request is known.
func (s *Store) Click(requestID, placeID string, now time.Time) (Served, int, Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	e, ok := s.byID[requestID]
	if !ok || now.Sub(e.At) > s.opt.TTL {
		return Served{}, 0, UnknownRequest
	}
	sv := e.Served
	sv.Places = nil // the caller must not hold the store's slice
	pos := -1
	for i, p := range e.Places {
		if p == placeID {
			pos = i
			break
		}
	}
	if pos < 0 {
		return sv, 0, NotInResults
	}
	if e.clicked == nil {
		e.clicked = make([]uint64, (len(e.Places)+63)/64)
		e.bytes += int64(len(e.clicked)) * 8
		s.bytes += int64(len(e.clicked)) * 8
	}
	word, bit := pos/64, uint64(1)<<(pos%64)
	if e.clicked[word]&bit != 0 {
		return sv, pos + 1, Duplicate
	}
	e.clicked[word] |= bit
	return sv, pos + 1, Counted
}

// Stats are the store's size and what it forgot, by reason (ReasonTTL, …).
type Stats struct {
	Entries   int
	Bytes     int64
	Forgotten [numReasons]uint64
}

// Stats reads the store's size and counts.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Entries: s.len(), Bytes: s.bytes, Forgotten: s.forgotten}
}

func (s *Store) len() int { return len(s.fifo) - s.head }

// expire forgets the responses older than the TTL.
func (s *Store) expire(now time.Time) {
	for s.len() > 0 && now.Sub(s.fifo[s.head].At) > s.opt.TTL {
		s.dropOldest(ReasonTTL)
	}
}

func (s *Store) dropOldest(reason int) {
	e := s.fifo[s.head]
	s.fifo[s.head] = nil
	s.head++
	s.bytes -= e.bytes
	s.forgotten[reason]++
	if s.byID[e.RequestID] == e {
		delete(s.byID, e.RequestID)
	}
	// Reuse the slice's front once half of it is behind the head.
	if s.head > 1024 && s.head*2 >= len(s.fifo) {
		n := copy(s.fifo, s.fifo[s.head:])
		clear(s.fifo[n:])
		s.fifo, s.head = s.fifo[:n], 0
	}
}
