package cache

import (
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a") // a is now more recent than b
	c.Put("c", 3)
	if _, ok := c.Get("b"); ok {
		t.Fatal("b should have been evicted")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatal("a should remain")
	}
	s := c.Stats()
	if s.Hits != 2 || s.Misses != 1 || s.Evictions != 1 || c.Len() != 2 {
		t.Fatalf("stats %+v len %d", s, c.Len())
	}
	if got := s.HitRate(); got != 2.0/3 {
		t.Fatalf("hit rate %v", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New[int, int](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := (g*31 + i) % 128
				if _, ok := c.Get(k); !ok {
					c.Put(k, i)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Fatalf("len %d over capacity", c.Len())
	}
	if s := c.Stats(); s.Hits+s.Misses != 8000 {
		t.Fatalf("every lookup must count: %+v", s)
	}
}
