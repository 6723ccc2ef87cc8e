package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// storageClient is the client of the storage extension the config names (a no-op client
// without one). It does what stanza's adapter.GetStorageClient does, without importing the
// adapter: that package registers every stanza operator (syslog, container, regex...) and
// would link them all into the sidecar.
func storageClient(ctx context.Context, host component.Host, storageID *component.ID, id component.ID) (storage.Client, error) {
	if storageID == nil {
		return storage.NewNopClient(), nil
	}
	ext, ok := host.GetExtensions()[*storageID]
	if !ok {
		return nil, fmt.Errorf("storage extension '%s' not found", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("non-storage extension '%s' found", storageID)
	}
	// The same client name as the adapter's ("jsonlog", underscores dropped), so checkpoints
	// written by earlier versions are found (collector issue 14988 is why the adapter drops them).
	normalized := component.MustNewIDWithName(strings.ReplaceAll(id.Type().String(), "_", ""), id.Name())
	return se.GetClient(ctx, component.KindReceiver, normalized, "")
}
