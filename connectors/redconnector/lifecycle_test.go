package redconnector

import (
	"testing"

	"github.com/recobs/recobs/internal/testutil/lifecycletest"
)

func TestLifecycle(t *testing.T) { lifecycletest.Run(t, NewFactory(), nil) }
