package main

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestClicksArePositionBiased: over many draws the first result is clicked about ten times as
// often as the tenth (weights 1 and 1/10), and every position is drawn.
func TestClicksArePositionBiased(t *testing.T) {
	c := &clicker{rng: rand.New(rand.NewPCG(1, 2))}
	var n [11]int
	for range 100_000 {
		n[c.position(10)]++
	}
	if r := float64(n[1]) / float64(n[10]); n[0] != 0 || n[10] == 0 || r < 8 || r > 12 {
		t.Fatalf("clicks by position %v: want position 1 about 10× position 10", n[1:])
	}
}

const answer = `{"request_id":"r1","results":[{"id":"a"},{"id":"b"},{"id":"c"}]}`

// TestDecide: a share of responses get a click, on one of their own places; invalid clicks
// carry an unknown request id or an unknown place; some come a minute late.
func TestDecide(t *testing.T) {
	c := &clicker{rate: 0.05, bad: 0.2, rng: rand.New(rand.NewPCG(1, 2))}
	var clicked, unknown, wrongPlace, late int
	for range 20_000 {
		k, ok := c.decide([]byte(answer))
		if !ok {
			continue
		}
		clicked++
		switch {
		case strings.HasPrefix(k.requestID, "loadgen-unknown-"):
			unknown++
		case k.place == "no-such-place":
			wrongPlace++
		case k.requestID != "r1" || !strings.Contains("abc", k.place):
			t.Fatalf("click %+v is not on the response's results", k)
		}
		if k.delay.Seconds() >= 20 {
			late++
		}
	}
	if clicked < 800 || clicked > 1200 || unknown == 0 || wrongPlace == 0 || late == 0 || unknown+wrongPlace > clicked/3 {
		t.Fatalf("of 20,000 responses: %d clicked, %d unknown, %d wrong place, %d late", clicked, unknown, wrongPlace, late)
	}
	if _, ok := (&clicker{}).decide([]byte(answer)); ok {
		t.Fatal("a zero click rate clicked")
	}
}

func TestSendPostsTheClick(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		if r.URL.Path != "/v1/feedback" || r.Method != http.MethodPost || json.Unmarshal(b, &m) != nil {
			t.Errorf("%s %s %s", r.Method, r.URL.Path, b)
		}
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
	}))
	defer srv.Close()
	var wg sync.WaitGroup
	counts := map[string]int{}
	c := &clicker{target: srv.URL, client: srv.Client(), ctx: context.Background(), wg: &wg,
		count: func(k string) { mu.Lock(); counts[k]++; mu.Unlock() }}
	c.send(click{requestID: "r1", place: "b"})
	wg.Wait()
	if counts["click:200"] != 1 || len(bodies) != 1 || bodies[0]["request_id"] != "r1" || bodies[0]["place_id"] != "b" || bodies[0]["action"] != "click" {
		t.Fatalf("statuses %v, bodies %v", counts, bodies)
	}
	srv.Client().CloseIdleConnections()
}
