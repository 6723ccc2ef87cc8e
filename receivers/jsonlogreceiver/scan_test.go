package jsonlogreceiver

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// scanValue reads in as one JSON text with the receiver's scanner.
func scanValue(p *lineParser, in string) (pcommon.Value, bool) {
	v := pcommon.NewValueEmpty()
	p.scan.reset([]byte(in))
	ok := p.value(v) && p.scan.atEnd()
	return v, ok
}

// sameAsEncodingJSON compares the scanner's value with encoding/json's reading of the text:
// numbers are int64 when integral and in range, float64 otherwise, their text when no float64
// holds them.
func sameAsEncodingJSON(got any, want any) bool {
	switch w := want.(type) {
	case json.Number:
		switch g := got.(type) {
		case int64:
			n, err := strconv.ParseInt(string(w), 10, 64)
			return err == nil && n == g
		case float64:
			f, err := strconv.ParseFloat(string(w), 64)
			return err == nil && f == g
		case string:
			// Kept as its text: a number no double holds, or an integer past int64 whose
			// digits a double would round.
			if g != string(w) {
				return false
			}
			f, _ := strconv.ParseFloat(string(w), 64)
			_, err := strconv.ParseInt(string(w), 10, 64)
			isInt := !strings.ContainsAny(string(w), ".eE")
			return math.IsInf(f, 0) || isInt && err != nil
		}
		return false
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !sameAsEncodingJSON(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameAsEncodingJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func checkAgainstEncodingJSON(t *testing.T, p *lineParser, in string) {
	t.Helper()
	v, ok := scanValue(p, in)
	if !ok && p.scan.depth > maxNesting {
		return // deeper than we read on purpose; encoding/json allows 10,000
	}
	if valid := json.Valid([]byte(in)); ok != valid {
		t.Fatalf("%q: scanner ok=%v, encoding/json valid=%v", in, ok, valid)
	}
	if !ok {
		return
	}
	dec := json.NewDecoder(strings.NewReader(in))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%q: %v", in, err)
	}
	if got := v.AsRaw(); !sameAsEncodingJSON(got, want) {
		t.Fatalf("%q: scanner %#v, encoding/json %#v", in, got, want)
	}
}

var scanCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `true`, `false`, `null`,
	`{"a":1,"b":[1,2,{"c":null}],"d":{"e":"f"}}`, `{"a":1,"a":2}`,
	`"\"\\\/\b\f\n\r\t\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`,
	`9223372036854775807`, `-9223372036854775808`, `9223372036854775808`, `123456789012345678901234`, `1e400`, `-1e400`,
	`1e-400`, ` { "spaced" : [ 1 , 2 ] } `, "\"caf\u00e9\"",
	// invalid
	`01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `tru`, `nul`, `"abc`, `"\x"`, `"\u12"`, "\"a\tb\"", `{"a"}`, `{"a":}`,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{1:2}`, `{"a":1} x`, `[`, `{`, `NaN`, `Infinity`, `'a'`,
}

// TestScannerAgreesWithEncodingJSON: the scanner accepts what encoding/json accepts and reads
// the same values.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	p := newLineParser(nil)
	for _, in := range scanCases {
		checkAgainstEncodingJSON(t, p, in)
	}
	raw, err := os.ReadFile("testdata/recsvc.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if utf8.ValidString(l) {
			checkAgainstEncodingJSON(t, p, l)
		}
	}
	deep := strings.Repeat("[", 100000)
	if _, ok := scanValue(p, deep); ok {
		t.Fatal("100,000 open brackets read as JSON")
	}
}

func FuzzScanValue(f *testing.F) {
	for _, in := range scanCases {
		f.Add(in)
	}
	p := newLineParser(nil)
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			return // parse replaces invalid bytes before the scanner sees a line
		}
		checkAgainstEncodingJSON(t, p, in)
	})
}

// TestExactFloatMatchesStrconv: the fast path gives strconv's double or declines.
func TestExactFloatMatchesStrconv(t *testing.T) {
	cases := []string{"0.0", "-0.0", "37.7749", "-122.4194", "0.85", "1.5e3", "1e22", "1e23", "123456789012345.6", "1234567890123456.7",
		"9007199254740993.0", "1e-22", "1.7976931348623157e308", "5e-324", "0.1", "0.30000000000000004", "12.5E-2", "0e5", "100e-2"}
	for i := range 20000 {
		// Decimals as recsvc writes them: coordinates, milliseconds, scores.
		cases = append(cases, strconv.FormatFloat(float64(i)*0.0137-120, 'f', -1, 64), strconv.FormatFloat(float64(i)/7, 'g', -1, 64))
	}
	for _, c := range cases {
		want, _ := strconv.ParseFloat(c, 64)
		if got, ok := exactFloat([]byte(c)); ok && (got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Fatalf("%s: fast path %v, strconv %v", c, got, want)
		}
		v := pcommon.NewValueEmpty()
		setNumber(v, []byte(c), false)
		if v.Double() != want {
			t.Fatalf("%s: setNumber %v, strconv %v", c, v.Double(), want)
		}
	}
}

// TestStringEndsAtEveryOffset: a quote, an escape, a control byte or a multi-byte rune at each
// position of strings up to 40 bytes, so the eight-bytes-at-a-time path meets each in every lane.
func TestStringEndsAtEveryOffset(t *testing.T) {
	p := newLineParser(nil)
	for n := range 41 {
		for at := range n + 1 {
			for _, special := range []string{`\"`, `\\`, "\x01", "\x1f", " ", "\u00e9", "\u20ac", `\u00e9`, "\x7f", "~"} {
				body := strings.Repeat("a", at) + special + strings.Repeat("b", n-at)
				checkAgainstEncodingJSON(t, p, `"`+body+`"`)
				checkAgainstEncodingJSON(t, p, `{"`+body+`":"`+body+`"}`)
			}
			checkAgainstEncodingJSON(t, p, `"`+strings.Repeat("a", at)) // unterminated
		}
	}
}
