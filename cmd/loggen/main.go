// Command loggen writes a file of realistic recsvc log lines (internal/testutil/loggen), so benchmarks
// in other modules (bench/filelogref) read exactly the lines ours do.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/recobs/recobs/internal/testutil/loggen"
)

func main() {
	lines := flag.Int("lines", 1_000_000, "how many lines")
	out := flag.String("o", "", "the file to write")
	flag.Parse()
	if *out == "" || *lines <= 0 {
		fmt.Fprintln(os.Stderr, "usage: loggen -lines N -o FILE")
		os.Exit(2)
	}
	if err := loggen.WriteFile(*out, *lines); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
}
