package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAppendStringRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", "\"\\/", "\x00\x1f\x7f", "héllo ✓", "a\u2028b", "tab\tnl\ncr\r"} {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil || back != s {
			t.Errorf("%q: got %q, %v", s, back, err)
		}
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	for _, s := range []string{"\xff\xfe", "\xe2\x82", "ok\xffok"} {
		b := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, b, err)
		}
		if !utf8.ValidString(back) {
			t.Errorf("%q: decoded to invalid UTF-8", s)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for f, want := range map[float64]string{1.5: "1.5", 85: "85", math.NaN(): `"NaN"`, math.Inf(1): `"+Inf"`, math.Inf(-1): `"-Inf"`} {
		if got := string(AppendFloat(nil, f)); got != want {
			t.Errorf("%v: got %s, want %s", f, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello")
	f.Add("\x00\xff\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid(AppendString(nil, s)) {
			t.Fatalf("invalid JSON for %q", s)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "recommendation_request for user 12345 near \"Mission\" — 10 results"
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
