package testenv // import "github.com/recobs/recobs/internal/testutil/testenv"

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
)

// StorageHost is a host whose only extension is a storage extension.
type StorageHost struct {
	component.Host
	exts map[component.ID]component.Component
}

// GetExtensions returns the storage extension.
func (h StorageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// StartFileStorage runs the real file_storage extension on dir, as the collector would; the
// caller shuts it down (a test of a crash closes it without shutting anything else down).
func StartFileStorage(t testing.TB, dir string) (component.ID, extension.Extension, StorageHost) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	id := component.MustNewID("file_storage")
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return id, ext, StorageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{id: ext}}
}
