package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// clicker clicks on results the way people do: a few per cent of responses get a click,
// higher results far more often (weight 1/position), most within a few seconds, one in ten a
// minute later; a few clicks are invalid (an unknown request id, a place not among the
// results), so the dashboards show the errors path too.
type clicker struct {
	target string
	client *http.Client
	rate   float64 // fraction of responses clicked
	bad    float64 // fraction of clicks that are invalid
	ctx    context.Context
	wg     *sync.WaitGroup
	count  func(status string)

	mu  sync.Mutex // rng is not safe for concurrent use
	rng *rand.Rand
}

type response struct {
	RequestID string `json:"request_id"`
	Results   []struct {
		ID string `json:"id"`
	} `json:"results"`
}

// click is one planned click: on place in the response to requestID, after delay.
type click struct {
	requestID, place string
	delay            time.Duration
}

// maybeClick decides whether a response gets a click and, if so, sends it when it is due.
func (c *clicker) maybeClick(body []byte) {
	if k, ok := c.decide(body); ok {
		c.send(k)
	}
}

func (c *clicker) decide(body []byte) (click, bool) {
	if c.rate <= 0 {
		return click{}, false
	}
	var r response
	if json.Unmarshal(body, &r) != nil || len(r.Results) == 0 {
		return click{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rng.Float64() >= c.rate {
		return click{}, false
	}
	k := click{requestID: r.RequestID, place: r.Results[c.position(len(r.Results))-1].ID,
		delay: time.Duration((0.5 + c.rng.ExpFloat64()*2) * float64(time.Second))}
	if c.rng.Float64() < 0.1 {
		k.delay = time.Duration(20+c.rng.IntN(40)) * time.Second
	}
	if c.rng.Float64() < c.bad {
		if c.rng.IntN(2) == 0 {
			k.requestID = fmt.Sprintf("loadgen-unknown-%d", c.rng.Uint32())
		} else {
			k.place = "no-such-place"
		}
	}
	return k, true
}

// send posts the click when it is due, unless loadgen is stopped first.
func (c *clicker) send(k click) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTimer(k.delay)
		defer t.Stop()
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		body := fmt.Appendf(nil, `{"request_id":%q,"place_id":%q,"action":"click"}`, k.requestID, k.place)
		req, _ := http.NewRequest(http.MethodPost, c.target+"/v1/feedback", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		key := "click:error"
		if res, err := c.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			key = fmt.Sprint("click:", res.StatusCode)
		}
		c.count(key)
	}()
}

// position draws a 1-based position among n with weight 1/position.
func (c *clicker) position(n int) int {
	total := 0.0
	for p := 1; p <= n; p++ {
		total += 1 / float64(p)
	}
	x := c.rng.Float64() * total
	for p := 1; p <= n; p++ {
		if x -= 1 / float64(p); x < 0 {
			return p
		}
	}
	return n
}
