package jsonlogreceiver

import (
	"path/filepath"
	"testing"

	"github.com/recobs/recobs/internal/testutil/lifecycletest"
)

func TestLifecycle(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.InputConfig.Include = []string{filepath.Join(t.TempDir(), "*.log")}
	t.Run("files", func(t *testing.T) { lifecycletest.Run(t, NewFactory(), cfg) })
	withSocket := *cfg
	withSocket.Socket = createDefaultConfig().(*Config).Socket
	withSocket.Socket.GetOrInsertDefault().AddrConfig.Endpoint = "127.0.0.1:0"
	t.Run("files and socket", func(t *testing.T) { lifecycletest.Run(t, NewFactory(), &withSocket) })
}
