package model

import (
	"math"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDefaultLoads(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := m.Score(&Vector{})
	hi, _ := m.Score(&Vector{1, 1, 1, 1, 1})
	if !(lo < hi) || lo <= 0 || hi >= 1 {
		t.Fatalf("scores must lie in (0,1) and rise with the features: %v %v", lo, hi)
	}
	// Hand-computed: sigmoid(-2.0) and sigmoid(-2 + 2.2+1.4+0.9+1.6+1.8).
	if math.Abs(lo-1/(1+math.Exp(2.0))) > 1e-12 || math.Abs(hi-1/(1+math.Exp(-5.9))) > 1e-12 {
		t.Fatalf("got %v %v", lo, hi)
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"missing weight": `{"version":"v","bias":0,"weights":{"popularity":1,"rating":1,"open_now":1,"affinity":1}}`,
		"extra weight":   `{"version":"v","bias":0,"weights":{"popularity":1,"rating":1,"open_now":1,"affinity":1,"proximity":1,"price":1}}`,
		"no version":     `{"bias":0,"weights":{"popularity":1,"rating":1,"open_now":1,"affinity":1,"proximity":1}}`,
		"unknown field":  `{"version":"v","bias":0,"weights":{"popularity":1,"rating":1,"open_now":1,"affinity":1,"proximity":1},"x":1}`,
		"not json":       `weights`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	_, err := Parse([]byte(`{"version":"v","bias":0,"weights":{"popularity":1,"rating":1,"open_now":1,"affinity":1}}`))
	if !strings.Contains(err.Error(), "weights.proximity") {
		t.Errorf("error must name the field: %v", err)
	}
}

func TestNaNFeatureIsAnError(t *testing.T) {
	m, _ := Default()
	if _, err := m.Score(&Vector{math.NaN()}); err == nil {
		t.Fatal("a NaN feature must not produce a score")
	}
}

func BenchmarkScoreAll(b *testing.B) {
	m, _ := Default()
	vs := make([]Vector, 200)
	for i := range vs {
		vs[i] = Vector{0.5, 0.7, 1, 0.3, 0.9}
	}
	out := make([]float64, len(vs))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.ScoreAll(vs, out)
	}
}
