# Countersign — see README.md. The two commands a newcomer needs:
#   make run    install what is missing, build, start the companion
#   make test   install what tests need, run every test
.POSIX:
.PHONY: all deps build run test fuzz bench lint clean

GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN      ?= bin
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Debian/Ubuntu packages the build and the tests need:
#   gcc, libc6-dev      cgo (the race detector; Fyne and libfido2 later)
#   dbus, gnome-keyring a real Secret Service for the vault tests
#   libsecret-tools     secret-tool, an independent Secret Service client for tests
#   git                 version stamping
DEB_PACKAGES := gcc libc6-dev pkg-config git dbus gnome-keyring libsecret-tools

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null 2>&1; then \
			sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
			echo "deps: installing$$missing"; \
			$$sudo apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
		else \
			echo "deps: this is not Debian/Ubuntu; install the equivalents of:$$missing"; \
		fi; \
	fi; \
	if ! [ -x "$$(command -v $(GO))" ]; then \
		echo "deps: Go is missing: install Go 1.26 or newer from https://go.dev/dl/ (Debian 12's golang-go is too old)"; exit 1; \
	fi

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/countersign ./app/countersign
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/countersign-server ./app/countersign-server

run: build
	./$(BIN)/countersign

# Every test, with the race detector, the vault and CLI ones against a real
# Secret Service in a private D-Bus session (.ci/keyring-session).
test: deps
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	.ci/keyring-session $(GO) test -race -count=1 ./...

# Runs every fuzz target for FUZZTIME each (seeds come from testdata/).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz: $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Benchmarks with a real keyring, printed as a table against the targets.
bench: deps
	.ci/keyring-session $(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.out | .ci/bench-table

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf $(BIN) dist bench.out
