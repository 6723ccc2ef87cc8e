package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/matcher"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recobs/recobs/receivers/jsonlogreceiver/internal/metadata"
)

// stanzaCheckpointKey is the key fileconsumer saves its read offsets under (end of every poll,
// and at shutdown).
const stanzaCheckpointKey = "knownFiles"

// ledgerKey is where the ledger is saved, beside stanza's offsets and in the same write.
const ledgerKey = "recobs.files"

// fileLedger is the receiver's account of every file it has seen: how large it was and how far
// its lines were handed on. A file can vanish before it is read to its end — recsvc deletes
// its oldest backup at each rotation, and several rotations while the sidecar is down (or
// slower than the writer) delete a file it never finished. Nothing can bring those lines back,
// but the ledger notices the file is gone with bytes unread, and counts and logs the loss.
//
// It is checked and saved when stanza saves its checkpoint: after a poll's readers have read
// every open file to its end (a deleted file that is still open is read to its end too), so a
// file gone from disk by then will never be read again.
type fileLedger struct {
	mu    sync.Mutex
	files map[uint64]*ledgerEntry
	// aliases maps the identity of a file's whole first line to the identity its records
	// carry, where the two differ (the first line was flushed in pieces).
	aliases map[uint64]uint64

	match  *matcher.Matcher
	live   []string // the configured include patterns: a file they match is still being written
	fpSize int

	logger               *zap.Logger
	lostFiles, lostBytes metric.Int64Counter
}

type ledgerEntry struct {
	Name   string `json:"name"`    // the name it was last seen under
	Size   int64  `json:"size"`    // the largest size seen on disk
	ReadTo int64  `json:"read_to"` // the end of the last line handed on
	Live   bool   `json:"live"`    // last seen under a live (not rotated) name
	// Missed counts the reconciles in a row that did not find the file. A rotation is not
	// atomic to an observer: between listing a directory and reading a file's first line,
	// logrotate renames recsvc.log.1 to .2, or truncates the live file before its copy is
	// listed. A file is judged gone only when a second reconcile misses it too.
	Missed int `json:"missed,omitempty"`
	// WholeFirstLine is the identity of the file's whole first line when the file is known by
	// a piece of it (see fileLedger.aliases).
	WholeFirstLine string `json:"whole_first_line,omitempty"`
}

// missesToGone is how many reconciles in a row must miss a file before it is judged gone.
const missesToGone = 2

func newFileLedger(match *matcher.Matcher, live []string, fpSize int, logger *zap.Logger, telemetry *metadata.TelemetryBuilder) (*fileLedger, error) {
	l := &fileLedger{files: map[uint64]*ledgerEntry{}, aliases: map[uint64]uint64{}, match: match, live: live, fpSize: fpSize, logger: logger}
	l.lostFiles, l.lostBytes = telemetry.JSONLogFilesLost, telemetry.JSONLogBytesLost
	return l, nil
}

// load restores the ledger a previous run saved.
func (l *fileLedger) load(ctx context.Context, p operator.Persister) error {
	raw, err := p.Get(ctx, ledgerKey)
	if err != nil || raw == nil {
		return err
	}
	var saved map[string]*ledgerEntry
	if err := json.Unmarshal(raw, &saved); err != nil {
		l.logger.Warn("file ledger unreadable; starting a new one", zap.Error(err))
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range saved {
		if id, err := strconv.ParseUint(k, 16, 64); err == nil && e != nil {
			l.files[id] = e
			if whole, err := strconv.ParseUint(e.WholeFirstLine, 16, 64); err == nil && whole != 0 {
				l.aliases[whole] = id
			}
		}
	}
	return nil
}

// handedOn records that the lines of file id up to end reached the pipeline.
func (l *fileLedger) handedOn(id uint64, name string, end int64) {
	if id == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.files[id]
	if e == nil {
		e = &ledgerEntry{Name: name}
		l.files[id] = e
	}
	e.ReadTo = max(e.ReadTo, end)
	e.Size = max(e.Size, end)
}

// alias records that the file whose whole first line has identity whole is the file known as
// id.
func (l *fileLedger) alias(whole, id uint64) {
	if whole == id || whole == 0 || id == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.files[id]
	if e == nil {
		e = &ledgerEntry{}
		l.files[id] = e
	}
	e.WholeFirstLine = strconv.FormatUint(whole, 16)
	l.aliases[whole] = id
	if w := l.files[whole]; w != nil { // seen by a reconcile before the alias was known
		e.Size = max(e.Size, w.Size)
		delete(l.files, whole)
	}
}

// reconcile looks at the files on disk now: it updates what is there and counts as lost what
// vanished with bytes unread. It returns the ledger to save.
func (l *fileLedger) reconcile(ctx context.Context) []byte {
	paths, _ := l.match.MatchFiles() // an error means no file matched: everything known is gone
	type seen struct {
		name string
		size int64
		live bool
	}
	found := make(map[uint64]seen, len(paths))
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		id, err := readFileID(path, l.fpSize)
		if err != nil || id == 0 {
			continue // unreadable, or its first line is not complete yet
		}
		// Two files with one identity: logrotate's copytruncate copying the live file. The
		// copy is seen part-way, smaller than what was already read from the live file;
		// the file is as large as its largest copy, and live while one copy is.
		s := found[id]
		if info.Size() >= s.size {
			s.name, s.size = filepath.Base(path), info.Size()
		}
		s.live = s.live || l.isLive(path)
		found[id] = s
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	for whole, id := range l.aliases {
		if s, there := found[whole]; there {
			delete(found, whole)
			found[id] = s
		}
	}
	for id, s := range found {
		e := l.files[id]
		if e == nil {
			e = &ledgerEntry{}
			l.files[id] = e
		}
		// A smaller size than seen before is a copy in progress, or the file truncated
		// in place: neither unreads what was read, so ReadTo stays and Size keeps the
		// largest size seen.
		e.Name, e.Live, e.Missed = s.name, s.live, 0
		e.Size = max(e.Size, s.size)
	}
	for id, e := range l.files {
		if _, there := found[id]; there {
			continue
		}
		if e.Missed++; e.Missed < missesToGone {
			continue
		}
		delete(l.files, id)
		if whole, err := strconv.ParseUint(e.WholeFirstLine, 16, 64); err == nil {
			delete(l.aliases, whole)
		}
		l.gone(ctx, e)
	}

	out := make(map[string]*ledgerEntry, len(l.files))
	for id, e := range l.files {
		out[strconv.FormatUint(id, 16)] = e
	}
	raw, _ := json.Marshal(out)
	return raw
}

// gone judges a file that is no longer on disk: bytes known unread are a loss, counted and
// logged as an error. A live file that vanished was rotated away and removed while the
// receiver could not see it (the sidecar was down, or the rotated copy was removed or
// compressed within one poll): lines written to it after it was last seen are lost, how many
// is unknown, so the file is counted with no bytes and logged as a warning.
func (l *fileLedger) gone(ctx context.Context, e *ledgerEntry) {
	unread := max(e.Size-e.ReadTo, 0)
	if unread == 0 && !e.Live {
		return // read to its end
	}
	l.lostFiles.Add(ctx, 1)
	l.lostBytes.Add(ctx, unread)
	fields := []zap.Field{
		zap.String("file", e.Name), zap.Int64("read_to_offset", e.ReadTo),
		zap.Int64("last_seen_size", e.Size), zap.Bool("was_live", e.Live),
	}
	if unread > 0 {
		l.logger.Error("log file deleted before it was read to its end: its remaining lines are lost",
			append(fields, zap.Int64("unread_bytes_at_least", unread))...)
		return
	}
	l.logger.Warn("log file deleted before its end was seen: lines written to it after read_to_offset, if any, are lost",
		fields...)
}

// isLive reports whether path is a file being written: matched by a configured include
// pattern under a name that is not a rotated copy's (with include: [*.log*], recsvc.log is
// live and recsvc.log.1 is not), so a fully read backup deleted at a rotation is no loss.
func (l *fileLedger) isLive(path string) bool {
	live := false
	for _, p := range l.live {
		if ok, _ := doublestar.PathMatch(p, path); ok {
			live = true
		}
		for _, suffix := range rotatedSuffixes {
			if ok, _ := doublestar.PathMatch(p+suffix, path); ok {
				return false
			}
		}
	}
	return live
}

// ledgerPersister is stanza's persister with the ledger riding along: each time stanza saves
// its read offsets, the ledger is reconciled and saved in the same storage batch, so the two
// never disagree after a crash.
type ledgerPersister struct {
	operator.Persister
	ledger *fileLedger
}

func (p ledgerPersister) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op != nil && op.Type == storage.Set && op.Key == stanzaCheckpointKey {
			ops = append(ops, storage.SetOperation(ledgerKey, p.ledger.reconcile(ctx)))
			break
		}
	}
	return p.Persister.Batch(ctx, ops...)
}
