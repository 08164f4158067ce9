# syntax=docker/dockerfile:1
# Build: a static binary, no cgo.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/wxbot ./cmd/wxbot

# Run: distroless static image as the non-root user (uid 65532), with CA
# certificates for api.weixin.qq.com and time zone data for the schedule.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wxbot /usr/local/bin/wxbot
USER nonroot:nonroot
EXPOSE 8080
# No shell or curl in the image: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/wxbot", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/wxbot"]
CMD ["serve"]
