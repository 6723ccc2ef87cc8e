package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The scanner reads a line's JSON in one pass, straight into pdata: no intermediate tree.
// It accepts exactly RFC 8259 JSON (the same texts as encoding/json.Valid; FuzzScanValue
// checks both agree) and decodes strings as encoding/json does, a lone surrogate becoming
// U+FFFD. It expects valid UTF-8: parse replaces invalid bytes (and flags the line) first.

// maxNesting bounds recursion: a line of ten thousand '[' is bad input, not a stack overflow.
const maxNesting = 128

// stringStop marks the bytes that end the fast path through a string: the closing quote, an
// escape, or a control character (invalid unescaped in JSON).
var stringStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

type jsonScanner struct {
	b      []byte
	i      int
	depth  int
	keyBuf []byte // a key with escapes, unescaped
	valBuf []byte // a string value with escapes, unescaped
}

func (s *jsonScanner) reset(b []byte) { s.b, s.i, s.depth = b, 0, 0 }

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// atEnd reports whether only whitespace is left.
func (s *jsonScanner) atEnd() bool {
	s.skipSpace()
	return s.i == len(s.b)
}

// atNumber reports whether a JSON number starts at s.i.
func (s *jsonScanner) atNumber() bool {
	return s.i < len(s.b) && (s.b[s.i] == '-' || '0' <= s.b[s.i] && s.b[s.i] <= '9')
}

// consume skips whitespace and then c, reporting whether c was there.
func (s *jsonScanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads the string at s.i (its opening quote). The result aliases the line when the
// string has no escapes, else buf (grown and returned through it); either way it is only
// valid until the next read into the same buffer.
func (s *jsonScanner) str(buf *[]byte) ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	i := start
	// Eight bytes at a time while none can end the fast path (SWAR: the lowest flagged byte
	// is exact, which is all the byte loop after it needs).
	for i+8 <= len(s.b) {
		w := binary.LittleEndian.Uint64(s.b[i:])
		q, bs := w^(lsb*'"'), w^(lsb*'\\')
		if stop := ((q-lsb)&^q | (bs-lsb)&^bs | (w-lsb*0x20)&^w) & msb; stop != 0 {
			i += bits.TrailingZeros64(stop) / 8
			break
		}
		i += 8
	}
	for i < len(s.b) && !stringStop[s.b[i]] {
		i++
	}
	if i < len(s.b) && s.b[i] == '"' {
		s.i = i + 1
		return s.b[start:i], true
	}
	out := append((*buf)[:0], s.b[start:i]...)
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			*buf = out
			return out, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.b) {
			return nil, false
		}
		switch e := s.b[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.b, i+2)
			if !ok {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair is two escapes; anything else leaves a lone surrogate, which
				// encoding/json decodes as U+FFFD and so do we.
				if r2, ok := hex4(s.b, i+2); ok && i+1 < len(s.b) && s.b[i] == '\\' && s.b[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return nil, false
}

// hex4 reads the four hex digits of a \u escape starting at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number at s.i; isInt when it has neither fraction nor exponent.
func (s *jsonScanner) number() (raw []byte, isInt, ok bool) {
	start, i := s.i, s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && '1' <= s.b[i] && s.b[i] <= '9':
		for i < len(s.b) && '0' <= s.b[i] && s.b[i] <= '9' {
			i++
		}
	default:
		return nil, false, false
	}
	isInt = true
	if i < len(s.b) && s.b[i] == '.' {
		isInt = false
		if i = s.skipDigits(i + 1); i < 0 {
			return nil, false, false
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		isInt = false
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if i = s.skipDigits(i); i < 0 {
			return nil, false, false
		}
	}
	s.i = i
	return s.b[start:i], isInt, true
}

// skipDigits returns the index after the digits starting at i, or -1 when there are none.
func (s *jsonScanner) skipDigits(i int) int {
	start := i
	for i < len(s.b) && '0' <= s.b[i] && s.b[i] <= '9' {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// literal reads true, false or null at s.i.
func (s *jsonScanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// setNumber stores a JSON number: an integer that fits int64 as an int (user ids, counts),
// a larger integer as the string of its digits (a 128-bit id rounded through a double would
// lose them), anything else as a double; a number no double holds (1e400) stays its text, so
// nothing downstream meets an infinity.
func setNumber(dst pcommon.Value, raw []byte, isInt bool) {
	if isInt {
		if n, ok := smallInt(raw); ok {
			dst.SetInt(n)
			return
		}
		if n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64); err == nil {
			dst.SetInt(n)
			return
		}
		dst.SetStr(string(raw))
		return
	}
	if f, ok := exactFloat(raw); ok {
		dst.SetDouble(f)
		return
	}
	// The grammar is already checked, so the only failure left is range; strconv copies
	// the text into its error rather than keeping our buffer.
	f, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
	if math.IsInf(f, 0) {
		dst.SetStr(string(raw))
		return
	}
	dst.SetDouble(f)
}

// smallInt converts up to 18 digits (never overflowing) without strconv.
func smallInt(raw []byte) (int64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// value reads the JSON value at s.i into dst; null leaves dst empty. Nested objects stay
// nested maps: Elasticsearch maps them as objects (location → geo_point, exception →
// error.*) and Kibana shows their dotted paths, which flattening here would only obscure.
func (p *lineParser) value(dst pcommon.Value) bool {
	s := &p.scan
	s.skipSpace()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		b, ok := s.str(&s.valBuf)
		if ok {
			dst.SetStr(p.str(b))
		}
		return ok
	case '{':
		return p.object(dst.SetEmptyMap(), 4)
	case '[':
		return p.array(dst.SetEmptySlice())
	case 't':
		if s.literal("true") {
			dst.SetBool(true)
			return true
		}
		return false
	case 'f':
		if s.literal("false") {
			dst.SetBool(false)
			return true
		}
		return false
	case 'n':
		return s.literal("null")
	default:
		raw, isInt, ok := s.number()
		if ok {
			setNumber(dst, raw, isInt)
		}
		return ok
	}
}

// object reads the object at s.i into m, which it first sizes for capacity entries (a later
// key with the same name replaces the earlier value, as encoding/json's last one wins).
func (p *lineParser) object(m pcommon.Map, capacity int) bool {
	m.EnsureCapacity(capacity)
	return p.sequence('}', func() bool {
		s := &p.scan
		s.skipSpace()
		k, ok := s.str(&s.keyBuf)
		return ok && s.consume(':') && p.value(m.PutEmpty(p.keys.get(k)))
	})
}

func (p *lineParser) array(sl pcommon.Slice) bool {
	return p.sequence(']', func() bool { return p.value(sl.AppendEmpty()) })
}

// sequence reads the comma-separated elements of the object or array opening at s.i, each
// with elem, through its closing byte.
func (p *lineParser) sequence(closing byte, elem func() bool) bool {
	s := &p.scan
	if s.depth++; s.depth > maxNesting {
		return false
	}
	s.i++ // '{' or '['
	if s.consume(closing) {
		s.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.consume(',') {
			continue
		}
		if s.consume(closing) {
			s.depth--
			return true
		}
		return false
	}
}

var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactFloat is the fast path for the decimals logs are full of (37.7749, 0.85): when the
// digits fit in 2^53 and the power of ten is at most 22, both are exact doubles and one
// multiplication or division rounds correctly, giving strconv's result (Clinger's fast path).
func exactFloat(raw []byte) (float64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	var mant uint64
	digits, exp := 0, 0
	i := 0
	for ; i < len(raw) && raw[i] != 'e' && raw[i] != 'E'; i++ {
		c := raw[i]
		if c == '.' {
			exp = -(len(raw) - i - 1) // fixed below when an exponent follows
			continue
		}
		if digits > 0 || c != '0' {
			digits++
		}
		if digits > 15 {
			return 0, false
		}
		mant = mant*10 + uint64(c-'0')
	}
	if i < len(raw) { // exponent part
		frac := 0
		if dot := bytes.IndexByte(raw[:i], '.'); dot >= 0 {
			frac = i - dot - 1
		}
		e, sign := 0, 1
		j := i + 1
		if raw[j] == '+' || raw[j] == '-' {
			if raw[j] == '-' {
				sign = -1
			}
			j++
		}
		for ; j < len(raw); j++ {
			if e > 1000 {
				return 0, false
			}
			e = e*10 + int(raw[j]-'0')
		}
		exp = sign*e - frac
	}
	f := float64(mant)
	switch {
	case mant == 0:
	case exp >= 0 && exp < len(exactPow10):
		f *= exactPow10[exp]
	case exp < 0 && -exp < len(exactPow10):
		f /= exactPow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}
