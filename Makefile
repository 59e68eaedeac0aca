# ntlmsensor — see README.md. Every target installs what it needs.
GO        ?= go
BIN       := bin/ntlmsensor
FUZZTIME  ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEMO_PCAPS := pcaps/real-implementations/smb2_ntlmv2_by_ip.pcap \
              pcaps/real-implementations/smb1_nonextsec_lm_ntlmv1.pcap \
              pcaps/real-implementations/http_ntlmv1.pcap \
              pcaps/real-implementations/smb2_kerberos_hostname.pcap

.PHONY: all build test demo lint fuzz bench deps clean

all: build

# libpcap's headers: the BPF filter compiler (cgo). Installed when missing.
deps:
	@test -f /usr/include/pcap/pcap.h || { \
	  echo "installing libpcap-dev (BPF filter compiler)"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev >/dev/null; }
	@$(GO) mod download

build: deps
	$(GO) build -o $(BIN) ./cmd/ntlmsensor

# The findings of a few bundled captures, one JSON line per authentication.
demo: build
	@for f in $(DEMO_PCAPS); do echo "== $$f"; ./$(BIN) -q -r $$f; done

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Every fuzz target for FUZZTIME each (go test runs one target at a time).
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; done

# Benchmarks on a generated capture (bench/, deterministic from SEED): the
# floors (read; read + decode headers), ntlmsensor with 1 worker and with
# every core, and tshark, on the same file; prints the table (also in
# BENCHDIR/results-SIZE-seedSEED.md) and fails if a planted authentication
# was missed. BENCHFLAGS="-readme docs/PERFORMANCE.md" puts the table in docs/PERFORMANCE.md.
# SIZE=10G for the large run; REPEAT timed runs each (the fastest counts);
# BENCHFLAGS=-profile writes CPU profiles; GOBENCH=1 also runs the Go
# benchmarks (go test -bench) of every package.
SIZE       ?= 1G
SEED       ?= 1
REPEAT     ?= 3
BENCHDIR   ?= bench/data
BENCHFLAGS ?=

bench: build
	@command -v tshark >/dev/null || { \
	  echo "installing tshark"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; }
	$(GO) build -o bin/pass ./bench/cmd/pass
	$(GO) build -o bin/benchrun ./bench/cmd/benchrun
	./bin/benchrun -size $(SIZE) -seed $(SEED) -repeat $(REPEAT) -dir $(BENCHDIR) -sensor $(BIN) -pass bin/pass $(BENCHFLAGS)
	@if [ -n "$(GOBENCH)" ]; then $(GO) test -run '^$$' -bench . -benchmem ./...; fi

clean:
	rm -rf bin
