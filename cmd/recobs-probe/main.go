// Command recobs-probe is the health probe inside the recobs images. They are built FROM
// scratch — no shell, no curl — and podman runs a pod's probes inside the container: an
// httpGet probe becomes the health check `/bin/sh -c "curl -f http://localhost:8080/health/live
// || exit 1"`. The images therefore hold this program as /bin/sh: it runs that one command
// line (curl -f URL, then an optional `|| exit 1`) and nothing else, so the image still has no
// shell. Kubernetes' kubelet probes from outside the container and needs none of this.
//
//	recobs-probe URL...                     GET each URL; exit 0 when every answer is 2xx
//	sh -c "curl -f URL || exit 1"           the same, as podman's health check calls it
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	urls, err := probeURLs(filepath.Base(os.Args[0]), os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "recobs-probe:", err)
		os.Exit(2)
	}
	client := http.Client{Timeout: 5 * time.Second}
	for _, u := range urls {
		if err := probe(&client, u); err != nil {
			fmt.Fprintln(os.Stderr, "recobs-probe:", err)
			os.Exit(1)
		}
	}
}

// probeURLs returns the URLs to probe: the arguments, or — called as a shell — the URL of
// the curl command line podman hands it.
func probeURLs(name string, args []string) ([]string, error) {
	if name != "sh" {
		if len(args) == 0 {
			return nil, errors.New("usage: recobs-probe URL...")
		}
		return args, nil
	}
	if len(args) != 2 || args[0] != "-c" {
		return nil, errors.New(`this is not a shell: it runs only a probe's "curl -f URL [|| exit 1]"`)
	}
	words := strings.Fields(args[1])
	if n := len(words); n >= 3 && words[n-3] == "||" && words[n-2] == "exit" {
		words = words[:n-3] // a failed GET exits 1 already
	}
	if len(words) != 3 || words[0] != "curl" || words[1] != "-f" {
		return nil, fmt.Errorf("this is not a shell: it runs only a probe's \"curl -f URL [|| exit 1]\", not %q", args[1])
	}
	return words[2:], nil
}

func probe(client *http.Client, u string) error {
	res, err := client.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", u, res.Status)
	}
	return nil
}
