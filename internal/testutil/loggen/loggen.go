// Package loggen writes realistic recsvc log files for benchmarks: the shape of recsvc's
// recommendation_request lines, about 5% request_failed lines with an exception, and 1% lines
// that are not JSON at all.
package loggen // import "github.com/recobs/recobs/internal/testutil/loggen"

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// Write writes n lines to w.
func Write(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for i := range n {
		var err error
		switch {
		case i%100 == 0:
			_, err = fmt.Fprintf(bw, "{garbage line %d: not json\n", i) // a record of its own, not a continuation
		case i%20 == 0:
			_, err = fmt.Fprintf(bw, `{"timestamp":"2026-11-27T10:00:%02d.%03dZ","level":"error","logger":"recsvc.api","event":"request_failed","request_id":"%032x","trace_id":"%032x","span_id":"%016x","category":"ml","user_id":%d,"location":{"lat":37.7749,"lng":-122.4194},"radius_km":2,"place_category":"cafe","limit":10,"status":500,"exception":{"type":"model.InferenceError","message":"score is NaN","stack":"goroutine 42 [running]:\nrecsvc/internal/model.(*Model).Score(...)\n\t/src/model.go:88"}}`+"\n",
				i%60, i%1000, i, i+1, i+2, i)
		default:
			_, err = fmt.Fprintf(bw, `{"timestamp":"2026-11-27T10:00:%02d.%03dZ","level":"info","logger":"recsvc.api","event":"recommendation_request","request_id":"%032x","trace_id":"%032x","span_id":"%016x","category":"business","user_id":%d,"user_segment":"students","location":{"lat":37.7749,"lng":-122.4194},"radius_km":2,"place_category":"all","num_results":10,"response_time_ms":0.85,"cache_hit":true,"status":200}`+"\n",
				i%60, i%1000, i, i+1, i+2, i)
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes n lines to a new file at path.
func WriteFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, n); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
