// Package pod runs the shipped pod for real (`make test-faults`, build tag `pod`): the images
// of deploy/docker, built FROM scratch from the repository's binaries, played with podman from
// deploy/k8s/recobs.yaml and its ConfigMap.
package pod
