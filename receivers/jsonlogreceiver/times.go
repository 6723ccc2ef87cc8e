package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// lastTimeKey keeps, among a file's attributes (persisted with its read offset), the time of
// the last line read that had one — or, before any had, when the file was first read.
const lastTimeKey = "recobs.file.last_time"

// reproducibleTimes gives each record of a file's batch that has no time of its own (no
// timestamp, or one that could not be read) an observed time a re-read reproduces: the time of
// the last line before it that had one, carried across batches in the file's attributes. The
// read time would not do: a line read again after a crash on the other side of midnight would
// pick another daily index, under the same _id — a duplicate. The returned keep records the
// time to carry on in the file's attributes: the caller calls it once the batch was taken, so
// the attributes saved with an offset always hold the time carried to it.
func reproducibleTimes(ld plog.Logs, fileAttrs map[string]any, now time.Time) (keep func()) {
	carry := pcommon.NewTimestampFromTime(now)
	if s, ok := fileAttrs[lastTimeKey].(string); ok {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			carry = pcommon.Timestamp(n)
		}
	}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if ts := lr.Timestamp(); ts != 0 {
					carry = ts
					continue
				}
				lr.SetObservedTimestamp(carry)
			}
		}
	}
	return func() { fileAttrs[lastTimeKey] = strconv.FormatUint(uint64(carry), 10) }
}
