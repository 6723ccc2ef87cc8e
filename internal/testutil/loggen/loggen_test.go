package loggen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestShape(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, 1000); err != nil {
		t.Fatal(err)
	}
	var lines, jsonLines, errors int
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		lines++
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			jsonLines++
			if m["level"] == "error" {
				errors++
			}
		}
	}
	if lines != 1000 || jsonLines != 990 || errors != 40 {
		t.Fatalf("lines %d json %d errors %d", lines, jsonLines, errors)
	}
}
