package feedback

import (
	"math"
	"sync"
	"time"
)

// Window counts impressions and clicks over the last Span, in Slots steps: the click-through
// rate it gives is clicks ÷ impressions of the last Span (between Span − Span/Slots and
// Span of data, as the current step fills). A click counts in the step it arrives in, not
// its impression's: a rate over a window of arrivals, the way rate() sees the counters.
type Window struct {
	step  time.Duration
	mu    sync.Mutex
	slots []slot
}

type slot struct {
	epoch              int64 // which step of time this slot holds (unix nanos ÷ step)
	impressions, click uint64
}

// CTRWindow is recommendation_ctr's window: five minutes, the dashboard's rate() window, so
// the gauge and sum(rate(clicks[5m])) / sum(rate(impressions[5m])) tell the same story; it
// also takes most clicks in the same window as their impressions.
const (
	CTRWindow      = 5 * time.Minute
	CTRWindowSlots = 30
)

// NewWindow makes a window of span in slots steps.
func NewWindow(span time.Duration, slots int) *Window {
	return &Window{step: span / time.Duration(slots), slots: make([]slot, slots)}
}

// Add counts impressions and clicks at now.
func (w *Window) Add(now time.Time, impressions, clicks uint64) {
	epoch := now.UnixNano() / int64(w.step)
	w.mu.Lock()
	s := &w.slots[epoch%int64(len(w.slots))]
	if s.epoch != epoch {
		*s = slot{epoch: epoch}
	}
	s.impressions += impressions
	s.click += clicks
	w.mu.Unlock()
}

// Rate is clicks ÷ impressions over the window ending at now; NaN when there was no
// impression (no rate, rather than a zero that would say the model stopped working).
func (w *Window) Rate(now time.Time) (ctr float64, impressions, clicks uint64) {
	epoch := now.UnixNano() / int64(w.step)
	w.mu.Lock()
	for _, s := range w.slots {
		if s.epoch > epoch-int64(len(w.slots)) && s.epoch <= epoch {
			impressions += s.impressions
			clicks += s.click
		}
	}
	w.mu.Unlock()
	if impressions == 0 {
		return math.NaN(), 0, clicks
	}
	return float64(clicks) / float64(impressions), impressions, clicks
}
