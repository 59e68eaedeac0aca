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

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
