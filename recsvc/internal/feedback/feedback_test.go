package feedback

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func served(id string, at time.Time, n int) Served {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("place-%d", i+1)
	}
	return Served{RequestID: id, At: at, Places: ps, Segment: "students", Category: "all", Region: "san_francisco"}
}

func TestClickOutcomes(t *testing.T) {
	s := NewStore(Options{})
	s.Remember(served("r1", t0, 100))
	for _, c := range []struct {
		rid, place string
		pos        int
		want       Outcome
	}{
		{"r1", "place-3", 3, Counted},
		{"r1", "place-3", 3, Duplicate}, // a retried click counts once
		{"r1", "place-1", 1, Counted},
		{"r1", "place-100", 100, Counted}, // past the first bitset word
		{"r1", "place-100", 100, Duplicate},
		{"r1", "place-101", 0, NotInResults},
		{"r2", "place-1", 0, UnknownRequest},
	} {
		sv, pos, got := s.Click(c.rid, c.place, t0.Add(time.Second))
		if got != c.want || pos != c.pos {
			t.Errorf("click %s/%s = %v at %d, want %v at %d", c.rid, c.place, got, pos, c.want, c.pos)
		}
		if got == Counted && (sv.RequestID != "r1" || sv.Segment != "students" || sv.Places != nil) {
			t.Errorf("click %s/%s: served %+v", c.rid, c.place, sv)
		}
	}
}

func TestTTL(t *testing.T) {
	s := NewStore(Options{TTL: time.Minute})
	s.Remember(served("old", t0, 3))
	if _, _, got := s.Click("old", "place-1", t0.Add(time.Minute+time.Millisecond)); got != UnknownRequest {
		t.Fatalf("a click past the TTL = %v, want UnknownRequest", got)
	}
	s.Remember(served("new", t0.Add(2*time.Minute), 3)) // expires "old" from memory
	if st := s.Stats(); st.Entries != 1 || st.Forgotten[ReasonTTL] != 1 {
		t.Fatalf("stats %+v, want 1 entry and 1 forgotten by TTL", st)
	}
}

func TestBoundedByEntriesAndBytes(t *testing.T) {
	s := NewStore(Options{MaxEntries: 10})
	for i := range 25 {
		s.Remember(served(fmt.Sprint(i), t0, 10))
	}
	st := s.Stats()
	if st.Entries != 10 || st.Forgotten[ReasonEntries] != 15 {
		t.Fatalf("stats %+v, want 10 entries, 15 forgotten by entries", st)
	}
	if _, _, got := s.Click("14", "place-1", t0); got != UnknownRequest {
		t.Errorf("the 15th response (forgotten) = %v", got)
	}
	if _, _, got := s.Click("15", "place-1", t0); got != Counted {
		t.Errorf("the 16th response (kept) = %v", got)
	}

	one := entryBytes(&Served{RequestID: "00", Places: make([]string, 10)})
	b := NewStore(Options{MaxBytes: 5 * one})
	for i := range 20 {
		b.Remember(served(fmt.Sprintf("%02d", i), t0, 10))
	}
	if st := b.Stats(); st.Entries != 5 || st.Bytes != 5*one || st.Forgotten[ReasonBytes] != 15 {
		t.Fatalf("stats %+v, want 5 entries of %d bytes, 15 forgotten by bytes", st, one)
	}
}

func TestReusedRequestIDTakesTheNewestResponse(t *testing.T) {
	s := NewStore(Options{MaxEntries: 2})
	s.Remember(served("r", t0, 3))
	s.Remember(Served{RequestID: "r", At: t0, Places: []string{"other"}})
	if _, pos, got := s.Click("r", "other", t0); got != Counted || pos != 1 {
		t.Fatalf("click on the newest response = %v at %d", got, pos)
	}
	s.Remember(served("x", t0, 3)) // the first "r" leaves: the newest stays
	if _, _, got := s.Click("r", "other", t0); got != Duplicate {
		t.Fatalf("the newest response was forgotten with the oldest: %v", got)
	}
}

// TestMemoryStaysBounded remembers a million responses into a store bounded at 1,000 and
// checks the FIFO's backing array is reused rather than grown.
func TestMemoryStaysBounded(t *testing.T) {
	s := NewStore(Options{MaxEntries: 1000})
	for i := range 1_000_000 {
		s.Remember(Served{RequestID: fmt.Sprint(i), At: t0})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := cap(s.fifo); c > 4096 {
		t.Fatalf("FIFO capacity %d after 1M responses bounded at 1,000", c)
	}
	if len(s.byID) != 1000 {
		t.Fatalf("%d ids remembered", len(s.byID))
	}
}

func TestConcurrentClicksCountOnce(t *testing.T) {
	s := NewStore(Options{})
	s.Remember(served("r", t0, 10))
	var wg sync.WaitGroup
	var mu sync.Mutex
	counted := 0
	for range 8 {
		wg.Go(func() {
			for p := 1; p <= 10; p++ {
				if _, _, o := s.Click("r", fmt.Sprintf("place-%d", p), t0); o == Counted {
					mu.Lock()
					counted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if counted != 10 {
		t.Fatalf("%d clicks counted, want 10 (one per result)", counted)
	}
}

func TestWindow(t *testing.T) {
	w := NewWindow(5*time.Minute, 30)
	if r, _, _ := w.Rate(t0); !math.IsNaN(r) {
		t.Fatalf("rate with no impressions = %v, want NaN", r)
	}
	w.Add(t0, 100, 0)
	w.Add(t0.Add(time.Minute), 100, 5)
	w.Add(t0.Add(2*time.Minute), 0, 5)
	if r, imp, cl := w.Rate(t0.Add(2 * time.Minute)); imp != 200 || cl != 10 || r != 0.05 {
		t.Fatalf("rate %v (%d/%d), want 0.05 (10/200)", r, cl, imp)
	}
	// Five minutes on, t0's step has left the window; a slot reused by a later step resets.
	if r, imp, cl := w.Rate(t0.Add(5 * time.Minute)); imp != 100 || cl != 10 || r != 0.1 {
		t.Fatalf("rate %v (%d/%d), want 0.1 (10/100)", r, cl, imp)
	}
	w.Add(t0.Add(10*time.Minute), 10, 1) // the same slot as t0's
	if r, imp, cl := w.Rate(t0.Add(10 * time.Minute)); imp != 10 || cl != 1 || r != 0.1 {
		t.Fatalf("rate %v (%d/%d), want 0.1 (1/10)", r, cl, imp)
	}
}
