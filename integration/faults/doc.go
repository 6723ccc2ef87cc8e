// Package faults holds the fault-injection suite (`make test-faults`): tests that stop the
// shared backends, so they run on their own, after `make test`, behind the `faults` build tag.
package faults
