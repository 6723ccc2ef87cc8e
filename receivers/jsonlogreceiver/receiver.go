package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/attrs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/matcher"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/recobs/recobs/receivers/jsonlogreceiver/internal/metadata"
)

var scopeName = metadata.ScopeName

// checkpointScope prefixes the read offsets in the storage extension.
const checkpointScope = "json_log"

// minLinesPerWorker keeps a small batch on one goroutine: fanning out costs more than it saves.
const minLinesPerWorker = 32

type logReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Logs
	obs       *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	host      string
	workers   int
	spec      *fieldSpec
	// resource and attributes are the configured ones, empty values left out.
	resource, attributes pcommon.Map
	parsers              sync.Pool // *lineParser, for the goroutines that call parseBatch
	jobs                 chan parseJob
	helpers              sync.WaitGroup

	manager *fileconsumer.Manager
	storage storage.Client
	socket  *socketInput
	ledger  *fileLedger
	// recordFileAttrs are the per-file attributes records carry: what the config asked for,
	// not what the receiver keeps for itself (the file's identity, where a cut line goes on,
	// its path unless asked for).
	recordFileAttrs func(string) bool
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*logReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "file", ReceiverCreateSettings: set})
	if err != nil {
		return nil, err
	}
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	workers := cfg.ParseWorkers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := &logReceiver{cfg: cfg, set: set, next: next, obs: obs, telemetry: telemetry, host: host, workers: workers}
	r.spec = newFieldSpec(cfg.Fields)
	r.parsers.New = func() any { return newLineParser(r.spec) }
	r.resource, r.attributes = staticAttributes(cfg.Resource), staticAttributes(cfg.Attributes)

	in := cfg.InputConfig
	switch strings.ToLower(in.Encoding) {
	case "", "utf-8", "utf8":
		// Raw bytes reach the parser, which checks UTF-8 itself and flags what is not;
		// the decoder would replace invalid bytes without a trace.
		in.Encoding = "utf-8-raw"
	}
	if cfg.IncludeRotated {
		in.Include, in.Exclude = withRotated(in.Include, in.Exclude, in.Compression != "")
	}
	// The path lets the receiver find a file's first line when it meets the file past its
	// start (a checkpoint from before identities); records carry it only when asked for.
	withPath := in.IncludeFilePath
	in.IncludeFilePath = true
	// The receiver's own per-file state (recobs.file.*) is never a record attribute.
	r.recordFileAttrs = func(k string) bool {
		return !strings.HasPrefix(k, "recobs.file.") && (withPath || k != attrs.LogFilePath)
	}
	var opts []fileconsumer.Option
	if cfg.Continuation.Enabled && in.SplitConfig.LineStartPattern == "" && in.SplitConfig.LineEndPattern == "" {
		opts = append(opts, fileconsumer.WithSplitFunc(continuationSplit(cfg.Continuation.MaxLines, int(in.MaxLogSize))))
	}
	if r.manager, err = in.Build(set.TelemetrySettings, r.emit, opts...); err != nil {
		return nil, fmt.Errorf("file input: %w", err)
	}
	match, err := matcher.New(in.Criteria)
	if err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	if r.ledger, err = newFileLedger(match, cfg.InputConfig.Include, int(in.FingerprintSize), set.Logger, telemetry); err != nil {
		return nil, err
	}
	return r, nil
}

// rotatedSuffixes name a file's rotated copies: recsvc.log.1 (recsvc, logrotate, lumberjack's
// numbered backups) and recsvc.log-20261128 (logrotate's dateext).
var rotatedSuffixes = []string{".*", "-*"}

// compressedSuffixes are rotated copies that were compressed: without `compression` their
// bytes are not lines, and logrotate compresses a copy only after it was complete as text.
var compressedSuffixes = []string{".gz", ".bz2", ".xz", ".zst", ".zip"}

// withRotated adds each include pattern's rotated copies, so a file renamed away while the
// sidecar was down (or between two polls) is still read to its end.
func withRotated(include, exclude []string, compression bool) ([]string, []string) {
	inc := slices.Clone(include)
	exc := slices.Clone(exclude)
	for _, p := range include {
		for _, s := range rotatedSuffixes {
			inc = append(inc, p+s)
			if !compression {
				for _, c := range compressedSuffixes {
					exc = append(exc, p+s+c)
				}
			}
		}
	}
	return inc, exc
}

func (r *logReceiver) Start(ctx context.Context, host component.Host) error {
	client, err := storageClient(ctx, host, r.cfg.StorageID, r.set.ID)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	r.storage = client
	persister := ledgerPersister{Persister: operator.NewScopedPersister(checkpointScope, client), ledger: r.ledger}
	if err := r.ledger.load(ctx, persister); err != nil {
		return fmt.Errorf("storage: file ledger: %w", err)
	}
	r.startHelpers()
	if sc := r.cfg.Socket.Get(); sc != nil {
		if r.socket, err = r.startSocket(ctx, *sc, host); err != nil {
			return fmt.Errorf("socket.endpoint: %w", err)
		}
	}
	return r.manager.Start(persister)
}

func (r *logReceiver) Shutdown(ctx context.Context) error {
	var errs []error
	if r.socket != nil {
		errs = append(errs, r.socket.stop())
	}
	if r.manager != nil {
		errs = append(errs, r.manager.Stop())
	}
	r.stopHelpers() // after the inputs: nothing parses any more
	if r.storage != nil {
		errs = append(errs, r.storage.Close(ctx))
	}
	return errors.Join(errs...)
}

// emit is fileconsumer's callback for a batch of lines of one file. It returns only once the
// pipeline has taken the batch: fileconsumer checkpoints the offset after it, so a line is
// either still ahead of the checkpoint or already downstream, and a crash loses nothing.
func (r *logReceiver) emit(ctx context.Context, tokens [][]byte, fileAttrs map[string]any, _ int64, offsets []int64) error {
	if len(tokens) == 0 {
		return nil
	}
	for i, tok := range tokens {
		tokens[i] = trimFlushed(tok)
	}
	id := r.fileIdentity(tokens[0], fileAttrs, offsets)
	cut := cutPieces(tokens, fileAttrs, offsets)
	src := recordSource{attrs: r.fileRecordAttrs(fileAttrs), offsets: offsets, id: id}
	ld := r.parseBatch(ctx, tokens, cut, src)
	keepTime := reproducibleTimes(ld, fileAttrs, time.Now())
	if err := r.deliver(ctx, ld, r.obs); err != nil {
		return err
	}
	keepTime()
	// offsets has one more entry than tokens: where the last line ended.
	name, _ := fileAttrs[attrs.LogFileName].(string)
	r.ledger.handedOn(id, name, offsets[len(tokens)])
	return nil
}

// pieceKey keeps, among a file's attributes (persisted with its offset), where the rest of a
// line cut at max_log_size starts, so the piece that continues it in a later batch is flagged.
const pieceKey = "recobs.file.piece_at"

// cutPieces marks the tokens that are pieces of a line longer than max_log_size (or of a line
// stanza flushed before its newline came): a token that ended without consuming a newline is
// the head of such a line, and the token after it its continuation. Offsets tell: offsets[i+1]
// is where token i ended in the file. nil when no token is a piece.
func cutPieces(tokens [][]byte, fileAttrs map[string]any, offsets []int64) []bool {
	var cut []bool
	mark := func(i int) {
		if cut == nil {
			cut = make([]bool, len(tokens))
		}
		cut[i] = true
	}
	if at, ok := fileAttrs[pieceKey].(string); ok {
		if at == strconv.FormatInt(offsets[0], 10) {
			mark(0)
		}
		delete(fileAttrs, pieceKey)
	}
	for i, tok := range tokens {
		if offsets[i+1]-offsets[i] != int64(len(tok)) {
			continue // ended with its newline
		}
		mark(i)
		if i+1 < len(tokens) {
			mark(i + 1)
		} else {
			fileAttrs[pieceKey] = strconv.FormatInt(offsets[i+1], 10)
		}
	}
	return cut
}

// fileIdentity returns the identity of the file a batch comes from, deriving it on the file's
// first batch and keeping it among the file's attributes, which stanza persists with the
// file's offset.
func (r *logReceiver) fileIdentity(first []byte, fileAttrs map[string]any, offsets []int64) uint64 {
	limit := int(r.cfg.InputConfig.FingerprintSize)
	if s, ok := fileAttrs[fileIDKey].(string); ok {
		if id, err := strconv.ParseUint(s, 16, 64); err == nil && id != 0 {
			r.completeFirstLine(id, first, fileAttrs, offsets[0], limit)
			return id
		}
	}
	var id uint64
	if offset := offsets[0]; offset == 0 {
		if nl := bytes.IndexByte(first, '\n'); nl >= 0 { // a record with its continuation lines
			first = dropCR(first[:nl])
		} else if offsets[1] == int64(len(first)) && len(first) < limit {
			// Stanza flushed the first line before its newline came: the file's
			// identity is this piece's until the line is complete on disk.
			fileAttrs[firstLinePendingKey] = "true"
		}
		id = fileIDOfLine(first, limit)
	} else if path, ok := fileAttrs[attrs.LogFilePath].(string); ok {
		id = r.identifyAt(path, first, offset, limit)
	}
	if id != 0 {
		fileAttrs[fileIDKey] = strconv.FormatUint(id, 16)
	}
	return id
}

// firstLinePendingKey marks, among a file's attributes, a file whose identity was derived from
// a piece of its first line (flushed before its newline came).
const firstLinePendingKey = "recobs.file.first_line_pending"

// completeFirstLine tells the ledger, once a file's first line is complete on disk, that the
// identity derived from the whole line is the file the records know as id: the ledger derives
// identities from whole first lines, and would otherwise count this file, read to its end, as
// one never read.
func (r *logReceiver) completeFirstLine(id uint64, line []byte, fileAttrs map[string]any, offset int64, limit int) {
	if _, pending := fileAttrs[firstLinePendingKey]; !pending {
		return
	}
	path, _ := fileAttrs[attrs.LogFilePath].(string)
	if whole := r.identifyAt(path, line, offset, limit); whole != 0 {
		r.ledger.alias(whole, id)
		delete(fileAttrs, firstLinePendingKey)
	}
}

// identifyAt reads the first line of the file at path, once it has checked that this file
// holds line at offset: after a rotation the path may name another file by now.
func (r *logReceiver) identifyAt(path string, line []byte, offset int64, limit int) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	here := make([]byte, len(line))
	if n, _ := f.ReadAt(here, offset); n != len(line) || !bytes.Equal(here, line) {
		r.set.Logger.Warn("cannot tell which file a batch comes from; its records get an identity without it", zap.String("path", path), zap.Int64("offset", offset))
		return 0
	}
	id, _ := readFileIDFrom(f, limit)
	return id
}

// fileRecordAttrs are the string attributes of a file that its records carry.
func (r *logReceiver) fileRecordAttrs(fileAttrs map[string]any) [][2]string {
	out := make([][2]string, 0, len(fileAttrs))
	for k, v := range fileAttrs {
		if s, ok := v.(string); ok && r.recordFileAttrs(k) {
			out = append(out, [2]string{k, s})
		}
	}
	return out
}

// deliver hands ld to the pipeline, retrying with backoff while it is refused (backpressure:
// the caller reads nothing more meanwhile); it gives up only when ctx ends (shutdown).
func (r *logReceiver) deliver(ctx context.Context, ld plog.Logs, obs *receiverhelper.ObsReport) error {
	n := ld.LogRecordCount()
	var retry *backoff.ExponentialBackOff // made on the first refusal: most batches never need it
	for {
		obsCtx := obs.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(obsCtx, ld)
		obs.EndLogsOp(obsCtx, "json", n, err)
		if err == nil {
			return nil
		}
		if consumererror.IsPermanent(err) {
			// The pipeline will never take these records; retrying would stop the file for
			// good. The refusal is counted by the receiver's refused-records metric.
			r.set.Logger.Error("pipeline refused log records for good", zap.Int("records", n), zap.Error(err))
			return nil
		}
		// Backpressure: reading this file waits until the pipeline takes the batch.
		if retry == nil {
			retry = backoff.NewExponentialBackOff()
			retry.InitialInterval = r.cfg.Retry.InitialInterval
			retry.MaxInterval = r.cfg.Retry.MaxInterval
			retry.Multiplier = r.cfg.Retry.Multiplier
			retry.RandomizationFactor = r.cfg.Retry.RandomizationFactor
		}
		wait := retry.NextBackOff()
		r.set.Logger.Debug("pipeline refused log records; retrying", zap.Int("records", n), zap.Duration("in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err() // shutting down: the batch stays ahead of the checkpoint
		case <-time.After(wait):
		}
	}
}

// parseJob is one slice of a batch for a parse helper.
type parseJob struct {
	batch    *batchParse
	from, to int
	counts   *[numProblems]int64
}

// recordSource is where a batch's lines come from, which their identities derive from.
type recordSource struct {
	attrs [][2]string // the attributes every record of the batch carries
	// offsets are where each line starts in its file (one more: where the last ended); nil for
	// a connection's lines.
	offsets []int64
	// id is the file's identity, or the connection's (random: nothing a connection sent is
	// ever read twice). 0 with no offsets: the lines get no identity.
	id uint64
	// seq is, for a connection, how many lines it sent before the batch's first: a line's
	// place on its connection keeps identical lines apart, as offsets do in a file.
	seq int64
}

// position is where line i of the batch sits in its file or on its connection.
func (s *recordSource) position(i int) int64 {
	if s.offsets != nil {
		return s.offsets[i]
	}
	return s.seq + int64(i)
}

// batchParse is what the slices of one batch share.
type batchParse struct {
	r        *logReceiver
	tokens   [][]byte
	cut      []bool // which tokens are pieces of a longer line (nil: none)
	lrs      plog.LogRecordSlice
	src      recordSource
	observed pcommon.Timestamp
	done     sync.WaitGroup
}

// startHelpers starts the goroutines that parse slices of batches beside the caller. They
// live as long as the receiver: a goroutine a batch would regrow its stack every time.
func (r *logReceiver) startHelpers() {
	r.jobs = make(chan parseJob, r.workers)
	for range r.workers - 1 {
		r.helpers.Add(1)
		go func() {
			defer r.helpers.Done()
			p := newLineParser(r.spec)
			for j := range r.jobs {
				j.batch.parseRange(p, j.from, j.to, j.counts)
				j.batch.done.Done()
			}
		}()
	}
}

func (r *logReceiver) stopHelpers() {
	if r.jobs != nil {
		close(r.jobs)
		r.helpers.Wait()
		r.jobs = nil
	}
}

// parseBatch turns a batch of lines into one plog.Logs, in order: the caller parses the first
// slice of the batch while the helpers parse the others.
func (r *logReceiver) parseBatch(ctx context.Context, tokens [][]byte, cut []bool, src recordSource) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr("service.name", r.cfg.ServiceName)
	if r.host != "" {
		res.PutStr("host.name", r.host)
	}
	for k, v := range r.resource.All() {
		v.CopyTo(res.PutEmpty(k))
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	sl.Scope().SetVersion(r.set.BuildInfo.Version)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(tokens))
	for range tokens {
		lrs.AppendEmpty()
	}
	b := &batchParse{r: r, tokens: tokens, cut: cut, lrs: lrs, src: src, observed: pcommon.NewTimestampFromTime(time.Now())}

	slices := min(r.workers, len(tokens)/minLinesPerWorker)
	if r.jobs == nil { // not started (or stopped): everything on the caller
		slices = 1
	}
	slices = max(slices, 1)
	counts := make([][numProblems]int64, slices)
	per := (len(tokens) + slices - 1) / slices
	b.done.Add(slices - 1)
	for w := 1; w < slices; w++ {
		r.jobs <- parseJob{batch: b, from: w * per, to: min((w+1)*per, len(tokens)), counts: &counts[w]}
	}
	p := r.parsers.Get().(*lineParser)
	b.parseRange(p, 0, min(per, len(tokens)), &counts[0])
	r.parsers.Put(p)
	b.done.Wait()

	for pr := range numProblems {
		var n int64
		for w := range counts {
			n += counts[w][pr]
		}
		if n > 0 {
			r.telemetry.JSONLogLinesFlagged.Add(ctx, n, metric.WithAttributes(attribute.String("problem", problemNames[pr])))
		}
	}
	return ld
}

func (b *batchParse) parseRange(p *lineParser, from, to int, counts *[numProblems]int64) {
	withOffset := b.src.offsets != nil && b.r.cfg.InputConfig.IncludeFileRecordOffset
	withUID := b.src.offsets != nil || b.src.id != 0
	// What every record gets after its fields: the file's attributes, the static ones, its offset
	// and its uid when it has them. A flagged line's parse error makes one more, and its slice
	// grows: flagged lines are few, and a spare slot on every line costs 40 bytes (a KeyValue).
	extra := len(b.src.attrs) + b.r.attributes.Len()
	if withOffset {
		extra++
	}
	if withUID {
		extra++
	}
	var uid []byte
	for i := from; i < to; i++ {
		lr := b.lrs.At(i)
		lr.SetObservedTimestamp(b.observed)
		line := b.tokens[i]
		problems := p.parse(lr, line, b.cut != nil && b.cut[i], extra)
		a := lr.Attributes()
		for _, kv := range b.src.attrs {
			a.PutStr(kv[0], kv[1])
		}
		for k, v := range b.r.attributes.All() {
			if _, ok := a.Get(k); !ok {
				v.CopyTo(a.PutEmpty(k))
			}
		}
		if withOffset {
			a.PutInt(attrs.LogFileRecordOffset, b.src.offsets[i])
		}
		if withUID {
			uid = appendRecordUID(uid[:0], b.src.id, b.src.position(i), line)
			a.PutStr(RecordUIDAttribute, p.arenaString(uid))
		}
		if problems != 0 {
			a.PutStr(ParseErrorAttribute, problems.String())
			for pr := range numProblems {
				if problems&(1<<pr) != 0 {
					counts[pr]++
				}
			}
		}
	}
}
