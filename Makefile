# carematch — build, demo, test, bench, lint.
# duckdb-go's Arrow API needs the duckdb_arrow build tag, so every go command
# here passes TAGS.

GO          ?= go
TAGS        := duckdb_arrow
BIN         := bin/carematch
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOBIN       := $(shell $(GO) env GOPATH)/bin

.PHONY: build demo test lint unit fuzz bench clean

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/carematch

# Synthetic extracts for the ten organisations, then the nightly job on them.
demo: build
	./$(BIN) demo --dir demo

# Everything CI checks: formatting, vet, staticcheck, then every test.
test: lint unit

unit:
	$(GO) test -tags $(TAGS) -count=1 ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet -tags $(TAGS) ./...
	@command -v staticcheck >/dev/null 2>&1 || test -x $(GOBIN)/staticcheck || $(GO) install $(STATICCHECK)
	PATH="$(GOBIN):$$PATH" staticcheck -tags $(TAGS) ./...

# A minute of each fuzzer over the parsers of outside data.
fuzz:
	for f in FuzzParseNHSNumber FuzzParsePostcode FuzzDateFormatParse FuzzStandardiseName; do \
		$(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$$f$$" -fuzztime 60s ./rules || exit 1; done
	$(GO) test -tags $(TAGS) -run '^$$' -fuzz '^FuzzCSVReader$$' -fuzztime 60s ./extract
	$(GO) test -tags $(TAGS) -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./config
	$(GO) test -tags $(TAGS) -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 60s ./internal/cp1252
	$(GO) test -tags $(TAGS) -run '^$$' -fuzz '^FuzzAppendJSONString$$' -fuzztime 60s ./portal

# Micro-benchmarks, then the whole job on about a million fixture records.
bench: build
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./rules ./extract ./store
	scripts/bench.sh

clean:
	rm -rf bin demo
