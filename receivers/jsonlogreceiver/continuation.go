package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"bufio"
	"bytes"
	"errors"
)

// ContinuationAttribute holds the lines that followed a record and were not records
// themselves — the traceback a Python stdlib handler appends after structlog's JSON line, a
// Java or Go stack trace — joined by newlines, trailing whitespace removed.
const ContinuationAttribute = "log.continuation"

// ContinuationConfig keeps the lines that follow a record with it. A record starts with a line
// whose first byte is '{'; each following line that does not start with '{' continues it, up
// to max_lines of them and max_log_size bytes for the record and its continuation together.
// A line that follows no record (the top of a file, after a plain-text line) stays a record of
// its own, flagged not_json, as before. A record's last continuation line is only known to be
// the last when the next record starts, so the last record of a file is handed on
// force_flush_period (default 500 ms) after its file stopped growing; on the socket input,
// socket.flush_interval after the connection went quiet.
type ContinuationConfig struct {
	// Enabled attaches continuation lines (default true). Off: every line is a record.
	Enabled bool `mapstructure:"enabled"`
	// MaxLines bounds the continuation lines one record takes (default 1000); the lines past
	// it are records of their own, flagged not_json.
	MaxLines int `mapstructure:"max_lines"`
}

// NewDefaultContinuationConfig attaches up to 1000 continuation lines.
func NewDefaultContinuationConfig() ContinuationConfig {
	return ContinuationConfig{Enabled: true, MaxLines: 1000}
}

func (c ContinuationConfig) validate() error {
	if c.Enabled && c.MaxLines < 1 {
		return errors.New("continuation.max_lines: must be at least 1")
	}
	return nil
}

// startsRecord reports whether a line starts a record: a JSON object's first byte. Tracebacks
// ("Traceback …", "  File …"), Java frames ("\tat …", "Caused by: …") and Go panics never do.
func startsRecord(line []byte) bool { return len(line) > 0 && line[0] == '{' }

// continuationSplit is the file input's split function: a token is a line, or a record's line
// with the continuation lines after it (see ContinuationConfig), without its last newline (nor
// a '\r' before it, as stanza's newline split drops). Lines that continue no record are tokens
// of their own, exactly as stanza's newline split makes them, so a file without continuation
// lines is split as before and its records keep their identities.
//
// A record is returned only once the line after its last continuation line is seen. Until
// then, stanza's flush (force_flush_period) hands on what is left of a file that stopped
// growing: that token still ends with its newline, which the receiver drops (trimFlushed).
func continuationSplit(maxLines, maxBytes int) bufio.SplitFunc {
	return func(data []byte, _ bool) (int, []byte, error) {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return 0, nil, nil // a line without its newline yet
		}
		if !startsRecord(data) {
			return nl + 1, dropCR(data[:nl]), nil
		}
		end := nl // where the token's last line ends
		for lines := 0; ; lines++ {
			next := end + 1
			if next == len(data) {
				return 0, nil, nil // what follows decides: wait for it, or for the flush
			}
			if startsRecord(data[next:]) || lines == maxLines {
				return next, dropCR(data[:end]), nil
			}
			nl := bytes.IndexByte(data[next:], '\n')
			if nl < 0 {
				if maxBytes > 0 && len(data) >= maxBytes {
					return next, dropCR(data[:end]), nil // the record is full: the rest starts anew
				}
				return 0, nil, nil
			}
			if maxBytes > 0 && next+nl > maxBytes {
				return next, dropCR(data[:end]), nil
			}
			end = next + nl
		}
	}
}

func dropCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// trimFlushed drops the newline (and a '\r' before it) that ends a token stanza's flush handed
// on whole: the split returns tokens without it, so the offsets then say, as for any other
// token, that the line ended with its newline rather than being cut.
func trimFlushed(tok []byte) []byte {
	if n := len(tok); n > 0 && tok[n-1] == '\n' {
		return dropCR(tok[:n-1])
	}
	return tok
}

// splitContinuation separates a record's first line from the continuation lines after it:
// rest is what follows the JSON object (at its end) when it starts on a new line. ok false:
// something other than whitespace follows the object on its own line.
func splitContinuation(rest []byte) (cont []byte, ok bool) {
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\r') {
		i++
	}
	if i == len(rest) {
		return nil, true
	}
	if rest[i] != '\n' {
		return nil, false
	}
	cont = rest[i+1:]
	for n := len(cont); n > 0; n-- {
		if c := cont[n-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return cont[:n], true
		}
	}
	return nil, true
}

// continuationJoiner groups a connection's lines as continuationSplit groups a file's: a record
// line is held until the next line tells whether it continues it.
type continuationJoiner struct {
	cfg      ContinuationConfig
	maxBytes int
	held     []byte // the record being continued (nil: none)
	lines    int    // its continuation lines so far
}

// add takes the next line (cut: truncated at max_log_size) and hands each token it completes
// to emit: the record held before it, when line does not continue it, and line itself unless
// it is a record to hold in turn.
func (j *continuationJoiner) add(line []byte, cut bool, emit func(tok []byte, cut bool)) {
	if j.held != nil && !cut && !startsRecord(line) && j.lines < j.cfg.MaxLines &&
		(j.maxBytes <= 0 || len(j.held)+1+len(line) <= j.maxBytes) {
		j.held = append(append(j.held, '\n'), line...)
		j.lines++
		return
	}
	j.flush(emit)
	if j.cfg.Enabled && !cut && startsRecord(line) {
		j.held, j.lines = line, 0
		return
	}
	emit(line, cut)
}

// flush hands on the held record, if any.
func (j *continuationJoiner) flush(emit func(tok []byte, cut bool)) {
	if j.held != nil {
		emit(j.held, false)
		j.held, j.lines = nil, 0
	}
}

// holding reports whether a record waits for its continuation.
func (j *continuationJoiner) holding() bool { return j.held != nil }
