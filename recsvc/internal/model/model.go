// Package model scores candidate places with a logistic model whose weights live in a JSON
// file: the embedded default, or one named at start. A file that does not fit the feature
// vector fails the load, so a bad model never serves.
package model // import "github.com/recobs/recobs/recsvc/internal/model"

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// FeatureNames is the order of a feature vector.
var FeatureNames = []string{"popularity", "rating", "open_now", "affinity", "proximity"}

// NumFeatures is the length of a feature vector.
const NumFeatures = 5

// Vector is one candidate's features, each scaled to [0, 1], in FeatureNames order.
type Vector [NumFeatures]float64

//go:embed weights.json
var defaultWeights []byte

// Model is immutable after loading and safe for concurrent use.
type Model struct {
	version string
	bias    float64
	weights Vector
}

type file struct {
	Version string             `json:"version"`
	Bias    float64            `json:"bias"`
	Weights map[string]float64 `json:"weights"`
}

// Default is the model shipped with the binary.
func Default() (*Model, error) { return Parse(defaultWeights) }

// Load reads a weights file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse checks and builds a model from a weights document.
func Parse(b []byte) (*Model, error) {
	var f file
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	var errs []error
	if f.Version == "" {
		errs = append(errs, errors.New("version: empty"))
	}
	if !finite(f.Bias) {
		errs = append(errs, errors.New("bias: not a finite number"))
	}
	m := &Model{version: f.Version, bias: f.Bias}
	for i, name := range FeatureNames {
		w, ok := f.Weights[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("weights.%s: missing", name))
		case !finite(w):
			errs = append(errs, fmt.Errorf("weights.%s: not a finite number", name))
		}
		m.weights[i] = w
	}
	for name := range f.Weights {
		if !slices.Contains(FeatureNames, name) {
			errs = append(errs, fmt.Errorf("weights.%s: not a feature of this model (want %v)", name, FeatureNames))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Version names the weights in use (a span attribute and a log field).
func (m *Model) Version() string { return m.version }

// ErrInvalidScore is returned when a feature vector yields no usable score.
var ErrInvalidScore = errors.New("model produced a non-finite score")

// Score returns the probability-like score of one candidate.
func (m *Model) Score(v *Vector) (float64, error) {
	z := m.bias
	for i := range v {
		z += m.weights[i] * v[i]
	}
	s := 1 / (1 + math.Exp(-z))
	if !finite(s) {
		return 0, ErrInvalidScore
	}
	return s, nil
}

// ScoreAll scores every vector into out (len(out) must equal len(vs)).
func (m *Model) ScoreAll(vs []Vector, out []float64) error {
	for i := range vs {
		s, err := m.Score(&vs[i])
		if err != nil {
			return fmt.Errorf("candidate %d: %w", i, err)
		}
		out[i] = s
	}
	return nil
}
