// Command loadgen sends real recommendation requests to recsvc at a steady rate — mostly
// valid, some with bad parameters, some asking recsvc to fail (X-Recsvc-Fault) — for the demo
// and the end-to-end tests, and clicks on some of the results the way people do (see
// clicker). It stops after -n requests, after -duration, or on Ctrl-C, and prints what it
// sent by status.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

var cities = [][2]float64{{37.7749, -122.4194}, {40.7128, -74.0060}, {51.5074, -0.1278}, {48.8566, 2.3522}, {35.6762, 139.6503}}
var categories = []string{"", "restaurant", "cafe", "bar", "museum", "park"}

func main() {
	target := flag.String("target", "http://127.0.0.1:8080", "recsvc base URL")
	rate := flag.Float64("rate", 20, "requests per second")
	n := flag.Int("n", 0, "stop after this many requests (0: no limit)")
	duration := flag.Duration("duration", 0, "stop after this long (0: no limit)")
	invalid := flag.Float64("invalid", 0.1, "fraction of requests with a bad parameter")
	failing := flag.Float64("failing", 0.05, "fraction of requests asking recsvc to fail")
	seed := flag.Uint64("seed", 1, "random seed")
	mix := flag.String("mix", "demo", "request shapes: demo (5 cities, radius 1-5 km, limit 5-20, any category) or wrk (scripts/wrk-recommendations.lua's: around San Francisco, radius 2 km, limit 10, no category — every request about the same work, so latency differences are not drowned by the mix)")
	clicks := flag.Float64("clicks", 0.05, "fraction of answered requests that get a click on a result (position-biased, most within seconds, some a minute late)")
	badClicks := flag.Float64("bad-clicks", 0.03, "fraction of clicks that are invalid: an unknown request id or a place not among the results")
	latency := flag.Bool("latency", false, "print latency percentiles of the 200 responses, timed from when each request was due (so a stalled server cannot hide its queueing)")
	flag.Parse()
	if *mix != "demo" && *mix != "wrk" {
		fmt.Fprintf(os.Stderr, "loadgen: -mix %q: want demo or wrk\n", *mix)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	rng := rand.New(rand.NewPCG(*seed, 2))
	// Connections are kept for reuse: at a high rate the default two idle ones a host would
	// make the client open (and the server accept) a connection for most requests.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	var mu sync.Mutex
	statuses := map[string]int{}
	var took []time.Duration
	var wg sync.WaitGroup
	ck := &clicker{target: *target, client: client, rate: *clicks, bad: *badClicks, rng: rand.New(rand.NewPCG(*seed, 3)),
		wg: &wg, ctx: ctx, count: func(key string) { mu.Lock(); statuses[key]++; mu.Unlock() }}
	// Request i is due at start + i/rate. A late loop sends at once to catch up rather than
	// skipping (a ticker drops ticks), so the rate holds and latency counts from the due time.
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	wait := time.NewTimer(0)
	defer wait.Stop()
	sent := 0
loop:
	for *n == 0 || sent < *n {
		due := start.Add(time.Duration(sent) * interval)
		if d := time.Until(due); d > 0 {
			wait.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-wait.C:
			}
		} else if ctx.Err() != nil {
			break loop
		}
		var url string
		var lat, lng float64
		if *mix == "wrk" {
			lat, lng = 37.7749+(rng.Float64()-0.5)*0.1, -122.4194+(rng.Float64()-0.5)*0.1
			url = fmt.Sprintf("%s/v1/recommendations?lat=%.5f&lng=%.5f&radius_km=2&limit=10&user_id=%d",
				*target, lat, lng, 1+rng.IntN(100000))
		} else {
			c := cities[rng.IntN(len(cities))]
			lat, lng = c[0]+rng.NormFloat64()*0.03, c[1]+rng.NormFloat64()*0.03
			url = fmt.Sprintf("%s/v1/recommendations?lat=%.5f&lng=%.5f&radius_km=%d&limit=%d&user_id=%d",
				*target, lat, lng, 1+rng.IntN(5), 5+rng.IntN(15), rng.IntN(100000))
			if cat := categories[rng.IntN(len(categories))]; cat != "" {
				url += "&category=" + cat
			}
		}
		fault := ""
		switch r := rng.Float64(); {
		case r < *invalid:
			url = fmt.Sprintf("%s/v1/recommendations?lat=%.1f&lng=%.5f", *target, 90+rng.Float64()*10, lng)
		case r < *invalid+*failing:
			fault = "error"
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if fault != "" {
				req.Header.Set("X-Recsvc-Fault", fault)
			}
			key := "error"
			if res, err := client.Do(req); err == nil {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				key = fmt.Sprint(res.StatusCode)
				if res.StatusCode == http.StatusOK {
					ck.maybeClick(body)
				}
			}
			d := time.Since(due)
			mu.Lock()
			statuses[key]++
			if key == "200" {
				took = append(took, d)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("loadgen: sent %d requests:", sent)
	for _, k := range keys {
		fmt.Printf(" %s=%d", k, statuses[k])
	}
	fmt.Println()
	if *latency && len(took) > 0 {
		slices.Sort(took)
		at := func(q float64) time.Duration { return took[min(len(took)-1, int(q*float64(len(took))))] }
		fmt.Printf("loadgen: latency of %d responses: p50 %v p90 %v p99 %v max %v\n",
			len(took), at(0.50), at(0.90), at(0.99), took[len(took)-1])
	}
}
