package jsonlogreceiver

import (
	"strings"
	"testing"
	"time"

	"github.com/recobs/recobs/internal/configtest"
)

func TestLoadConfig(t *testing.T) {
	def, err := configtest.Load(t, NewFactory(), "json_log")
	if d := def.(*Config); err == nil || !strings.Contains(err.Error(), "include:") || !d.IncludeRotated || d.InputConfig.StartAt != "beginning" || d.ServiceName != "recsvc" || d.Socket.HasValue() {
		t.Fatalf("defaults (include is required): %+v, %v", d, err)
	}
	full, err := configtest.Load(t, NewFactory(), "json_log/full")
	c := full.(*Config)
	s := c.Socket.Get()
	if err != nil || len(c.InputConfig.Include) != 1 || len(c.InputConfig.Exclude) != 1 || c.IncludeRotated || c.StorageID == nil ||
		c.ServiceName != "checkout" || c.ParseWorkers != 2 || c.InputConfig.MaxLogSize != 65536 || c.InputConfig.PollInterval != 500*time.Millisecond ||
		s == nil || s.Endpoint != "/run/recsvc/log.sock" || string(s.Transport) != "unix" || s.FlushInterval != 100*time.Millisecond || s.MaxConnections != 8 {
		t.Fatalf("full: %+v, %v", c, err)
	}
	for name, want := range map[string][]string{
		"bad_include":       {"include:"},
		"bad_encoding":      {"encoding:"},
		"bad_retry":         {"retry_on_failure:"},
		"bad_socket":        {"socket.endpoint:", "socket.max_connections:"},
		"bad_parse_workers": {"parse_workers:"},
	} {
		_, err := configtest.Load(t, NewFactory(), "json_log/"+name)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: want an error naming %s, got %v", name, w, err)
			}
		}
	}
}
