# recsvc: cgo (uber/h3-go) needs glibc at run time, so the final image is distroless/base.
# Build from the repository root: docker build -f deploy/docker/recsvc.Dockerfile .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/recsvc ./recsvc/cmd/recsvc

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/recsvc /recsvc
USER nonroot
EXPOSE 8080 6060
ENTRYPOINT ["/recsvc"]
