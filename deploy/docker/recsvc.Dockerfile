# recsvc: static (cgo for uber/h3-go, linked against glibc's static libc; Go's own resolver),
# in an image that holds nothing else. `make images` builds the binaries (scripts/build.sh
# images) and then this image from the repository root:
#   podman build -f deploy/docker/recsvc.Dockerfile -t recobs/recsvc:0.1.0 .
FROM scratch
COPY bin/recsvc /recsvc
COPY bin/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# podman runs a pod's httpGet probe inside the container as /bin/sh -c "curl -f URL || exit 1";
# recobs-probe answers that one command line (cmd/recobs-probe). Kubernetes needs none of it.
COPY bin/recobs-probe /bin/sh
USER 65532:65532
EXPOSE 8080 6060
ENTRYPOINT ["/recsvc"]
