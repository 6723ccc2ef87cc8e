package correlationprocessor // import "github.com/recobs/recobs/processors/correlationprocessor"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
)

// waitStore keeps the records waiting for their span in a storage extension (file_storage),
// one key a record, so that a crash while they wait loses none of them: the next start sends
// them on. A record is written before the processor returns to its caller and deleted only
// once it has been handed on.
type waitStore struct {
	client storage.Client
	next   uint64
	enc    plog.ProtoMarshaler
	dec    plog.ProtoUnmarshaler
}

const waitKeyPrefix = "waiting/"

func waitKey(seq uint64) string { return waitKeyPrefix + strconv.FormatUint(seq, 10) }

// openWaitStore opens the processor's client on the storage extension id and returns the
// records a previous run left waiting, oldest first.
func openWaitStore(ctx context.Context, host component.Host, id component.ID, self component.ID, logAttribute string) (*waitStore, []*waiting, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, nil, fmt.Errorf("storage: extension %q not found", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, nil, fmt.Errorf("storage: %q is not a storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, self, "waiting")
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %w", err)
	}
	walker, ok := client.(storage.Walker)
	if !ok {
		_ = client.Close(ctx)
		return nil, nil, fmt.Errorf("storage: %q cannot list its keys (file_storage can)", id)
	}
	s := &waitStore{client: client}
	var loaded []*waiting
	var errs []error
	err = walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		seqText, ok := strings.CutPrefix(key, waitKeyPrefix)
		if !ok {
			return nil, nil
		}
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if err != nil {
			return nil, nil
		}
		ld, err := s.dec.UnmarshalLogs(value)
		if err != nil || ld.LogRecordCount() != 1 {
			errs = append(errs, fmt.Errorf("waiting record %s is unreadable: %v", key, err))
			return nil, nil
		}
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		loaded = append(loaded, &waiting{seq: seq, requestID: requestID(lr.Attributes(), logAttribute), logs: ld, bytes: len(value)})
		s.next = max(s.next, seq+1)
		return nil, nil
	})
	if err != nil {
		_ = client.Close(ctx)
		return nil, nil, fmt.Errorf("storage: %w", err)
	}
	slices.SortFunc(loaded, func(a, b *waiting) int { return cmp.Compare(a.seq, b.seq) })
	return s, loaded, errors.Join(errs...)
}

// hold writes ws, giving each its sequence number.
func (s *waitStore) hold(ctx context.Context, ws []*waiting) error {
	ops := make([]*storage.Operation, 0, len(ws))
	for _, w := range ws {
		b, err := s.enc.MarshalLogs(w.logs)
		if err != nil {
			return err
		}
		w.seq = s.next
		s.next++
		ops = append(ops, storage.SetOperation(waitKey(w.seq), b))
	}
	return s.client.Batch(ctx, ops...)
}

// release deletes ws, which have been handed on.
func (s *waitStore) release(ctx context.Context, ws []*waiting) error {
	ops := make([]*storage.Operation, 0, len(ws))
	for _, w := range ws {
		ops = append(ops, storage.DeleteOperation(waitKey(w.seq)))
	}
	return s.client.Batch(ctx, ops...)
}

func (s *waitStore) close(ctx context.Context) error { return s.client.Close(ctx) }
