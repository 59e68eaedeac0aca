# ntlmsensor — see README.md. Every target installs what it needs.
GO        ?= go
BIN       := bin/ntlmsensor
FUZZTIME  ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
NFPM      := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
# --version: the release tag (vX.Y.Z), else 0.0.0~git<commit time>+<commit>;
# the build time (SOURCE_DATE_EPOCH when set, for reproducible builds).
VERSION   ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo $${v\#v} || \
               echo 0.0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null)+$$(git rev-parse --short HEAD 2>/dev/null))
BUILD_TIME ?= $(shell date -u $${SOURCE_DATE_EPOCH:+-d @$$SOURCE_DATE_EPOCH} +%Y-%m-%dT%H:%M:%SZ)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildTime=$(BUILD_TIME)
DEMO_PCAPS := pcaps/real-implementations/smb2_ntlmv2_by_ip.pcap \
              pcaps/real-implementations/smb1_nonextsec_lm_ntlmv1.pcap \
              pcaps/real-implementations/http_ntlmv1.pcap \
              pcaps/real-implementations/smb2_kerberos_hostname.pcap

.PHONY: all build static deb test demo lint fuzz bench deps clean

all: build

# libpcap's headers: the BPF filter compiler (cgo). Installed when missing.
deps:
	@test -f /usr/include/pcap/pcap.h || { \
	  echo "installing libpcap-dev (BPF filter compiler)"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev >/dev/null; }
	@$(GO) mod download

build: deps
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ntlmsensor

# A static binary without cgo (no libpcap needed to build or run): live
# capture with afpacket and everything else, but no BPF filters and no
# -capture pcap (it says so when asked).
static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ntlmsensor-static ./cmd/ntlmsensor

# The Debian package (dist/ntlmsensor_VERSION_ARCH.deb), by nfpm: the binary,
# the unit (running /usr/bin/ntlmsensor), the sysusers file, the example
# configuration, logrotate, a man page and the bash completion generated from
# the binary's own options, the README and the contract.
# build/deb: named in deploy/nfpm.yaml
DEB_BUILD := build/deb
deb: build
	rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD) dist
	cp $(BIN) $(DEB_BUILD)/ntlmsensor
	sed 's|/usr/local/bin/ntlmsensor|/usr/bin/ntlmsensor|g' deploy/ntlmsensor.service > $(DEB_BUILD)/ntlmsensor.service
	./$(BIN) gen-man | gzip -9n > $(DEB_BUILD)/ntlmsensor.1.gz
	./$(BIN) gen-completion > $(DEB_BUILD)/ntlmsensor.bash
	VERSION=$(VERSION) ARCH=$$($(GO) env GOARCH) \
	  $(GO) run $(NFPM) package --packager deb --config deploy/nfpm.yaml --target dist/

# The findings of a few bundled captures as a table, then the NTLM audit of
# every bundled lab capture: the inventory, and the report in bin/report.html.
demo: build
	@echo "== the findings of a few bundled captures, as a table (-format json: the documents)"
	@./$(BIN) -q -format table $(addprefix -r ,$(DEMO_PCAPS))
	@echo
	@echo "== the NTLM audit of every bundled lab capture: what to fix first, and why"
	@./$(BIN) report -q -r pcaps/real-implementations -o bin/report.html
	@./$(BIN) inventory -r pcaps/real-implementations | head -25
	@echo "(the full report, to open in a browser: bin/report.html)"

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
# MIX=proxy|small|tls|smb|ipv6: another mix of traffic (bench/gen/mix.go)
MIX        ?=
# LIVE=1: live capture speed instead (bench/cmd/livebench, root, tcpreplay):
# the LIVESIZE capture replayed into a veth pair between two namespaces at
# each of RATES (Mbit/s; top: --topspeed), 1 and 2 workers (AF_PACKET
# fanout); the highest rate with no kernel drop and every planted
# authentication found. LIVEFLAGS="-readme docs/PERFORMANCE.md" puts the
# table there.
LIVESIZE   ?= 256M
RATES      ?= 500,1000,2000,top
LIVEFLAGS  ?=

bench: build
ifneq ($(LIVE),)
	@command -v tcpreplay >/dev/null || { \
	  echo "installing tcpreplay"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpreplay >/dev/null; }
	$(GO) build -o bin/livebench ./bench/cmd/livebench
	$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) ./bin/livebench -size $(LIVESIZE) -seed $(SEED) -rates $(RATES) -dir $(BENCHDIR) -sensor $(BIN) -mix '$(MIX)' $(LIVEFLAGS)
else
	@command -v tshark >/dev/null || { \
	  echo "installing tshark"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; }
	$(GO) build -o bin/pass ./bench/cmd/pass
	$(GO) build -o bin/benchrun ./bench/cmd/benchrun
	./bin/benchrun -size $(SIZE) -seed $(SEED) -repeat $(REPEAT) -dir $(BENCHDIR) -sensor $(BIN) -pass bin/pass -mix '$(MIX)' $(BENCHFLAGS)
	@if [ -n "$(GOBENCH)" ]; then $(GO) test -run '^$$' -bench . -benchmem ./...; fi
endif

clean:
	rm -rf bin build dist
