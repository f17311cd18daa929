# carematch — build, demo, test, bench, lint.
# duckdb-go's Arrow API needs the duckdb_arrow build tag, so every go command
# here passes TAGS.

GO          ?= go
TAGS        := duckdb_arrow
BIN         := bin/carematch
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
# staticcheck is pinned in go.mod as a tool (go tool staticcheck).
PREFIX      ?= /usr/local

.PHONY: build install demo test lint unit fuzz bench clean

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/carematch

# The binary into $(PREFIX)/bin, and bash and zsh completion beside the
# system's (DESTDIR for packaging).
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/carematch
	./$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/carematch
	./$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_carematch

# Synthetic extracts for the ten organisations, then the nightly job on them.
demo: build
	./$(BIN) demo --dir demo

# Everything CI checks: formatting, vet, staticcheck, then every test.
test: lint unit

unit:
	$(GO) test -tags $(TAGS) -count=1 ./...
	@command -v chromium >/dev/null 2>&1 || echo "make test: no chromium here: the browser tests of report.html and the review page were skipped (.ci/run installs it)"
	@{ command -v node && command -v npm; } >/dev/null 2>&1 || echo "make test: no node and npm here: the FHIR validation of patients.ndjson was skipped (.ci/run installs them)"

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet -tags $(TAGS) ./...
	$(GO) tool staticcheck -tags $(TAGS) ./...

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
