# Multi-stage build: a static binary (the same flags as `make build`) in a
# distroless image that runs as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /out/switchboard ./cmd/switchboard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchboard /switchboard
USER nonroot:nonroot
EXPOSE 8080
ENV SWITCHBOARD_ADDR=:8080
HEALTHCHECK NONE
ENTRYPOINT ["/switchboard"]
