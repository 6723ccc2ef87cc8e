package redconnector

import (
	"testing"

	"github.com/recobs/recobs/internal/lifecycletest"
)

func TestLifecycle(t *testing.T) { lifecycletest.Run(t, NewFactory(), nil) }
