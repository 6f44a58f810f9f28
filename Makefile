# Countersign — see README.md. The two commands a newcomer needs:
#   make run    install what is missing, build, start the companion
#   make test   install what tests need, run every test
.POSIX:
.PHONY: all deps deps-npm deps-qr deps-bench-ui deps-package deps-windows install-packages build run test test-package package windows vet-cross fuzz bench bench-qr bench-ui bench-server bench-approvals bench-dashboard soak cross corpus lint clean screenshots chaos

GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN      ?= bin
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# The Linux window's build tags, in one file that make, .ci/bench-ui and the
# window's tests read: no_emoji leaves Fyne's bundled emoji font out, so emoji
# come from the desktop's own emoji font (fonts-noto-color-emoji), parsed once
# and only when one is shown; Fyne parses its bundled copy at start-up once
# per text style, ~9 MiB of a window that shows none. The Windows build keeps
# the bundled font: Windows' Segoe UI Emoji is a COLR font, which Fyne's text
# renderer draws in one colour.
APP_TAGS := $(shell cat app/countersign/build-tags)
FUZZTIME ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Debian/Ubuntu packages the build and the tests need:
#   gcc, libc6-dev      cgo (the race detector, Fyne, libfido2)
#   dbus, gnome-keyring a real Secret Service for the vault tests
#   libsecret-tools     secret-tool, an independent Secret Service client for tests
#   git                 version stamping
#   libgl1-mesa-dev, libx11-dev, libxcursor-dev, libxrandr-dev, libxinerama-dev,
#   libxi-dev, libxxf86vm-dev   Fyne's GLFW window (and Xlib for the clipboard)
#   xvfb, xclip         a real X server and clipboard owner for the screen, clipboard and GUI tests
#   xdotool             keys typed into the real window (XTEST) for the keyboard test
#   libfido2-dev        security keys through go-libfido2 (cgo)
#   fido2-tools         libfido2's own fido2-token/-cred/-assert, the independent client of the software key
#   postgresql          a throwaway PostgreSQL server for the store tests (started per test run, loopback only)
#   chromium            the real browser of the server's end-to-end tests (headless, WebAuthn virtual authenticator)
#   age                 the standard age tool, which must open the companion's backups
#   poppler-utils       pdftotext and pdftoppm read the emergency kit back (its text and its QR code)
#   gcc-mingw-w64-x86-64  cgo for the Windows build (make windows): the companion and its resources (windres)
#   wine, wine64        runs the Windows build in the tests (CLI, window, installer)
#   msitools, wixl      builds the .msi (wixl) and reads it back (msiinfo)
#   oathtool            the reference for authenticator codes the Windows build prints
#   fonts-noto-color-emoji  the desktop emoji font the Linux window draws emoji with (see APP_TAGS)
DEB_PACKAGES := gcc libc6-dev pkg-config git dbus gnome-keyring libsecret-tools libfido2-dev fido2-tools \
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev \
	xvfb xclip xdotool postgresql chromium age poppler-utils \
	gcc-mingw-w64-x86-64 wine wine64 msitools wixl oathtool fonts-noto-color-emoji
# Only for make bench-qr (zbarimg is the reference) and make corpus (draws testdata/qr).
QR_PACKAGES := zbar-tools jq qrencode imagemagick chromium fonts-dejavu-core
# Only for make bench-ui (xvfb, xdotool, dbus and gnome-keyring are in DEB_PACKAGES).
UI_BENCH_PACKAGES := imagemagick
# Only for make test-package: lintian (the .deb), desktop-file-validate,
# appstreamcli (the metainfo), systemd-analyze (the server's unit), udevadm (the udev
# rule), rpm (reads the .rpms).
PACKAGE_PACKAGES := lintian desktop-file-utils appstream systemd udev rpm
# Only for make windows (make test has them in DEB_PACKAGES).
WIN_PACKAGES := gcc-mingw-w64-x86-64 msitools wixl git

# make package: the Linux tarball (fyne package) and the .deb and .rpm of both
# programs (nfpm), under dist/. nfpm v2.48.0 does not build from the module
# proxy (go.digitalxero.dev/rpm answers 403), hence v2.43.0.
FYNE_TOOL := fyne.io/tools/cmd/fyne@v1.7.4
NFPM      := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.43.0
DIST      := dist
APP_VERSION := $(shell sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' FyneApp.toml)
# Package version: the tag without its v (v1.2.0-3-gabc → 1.2.0+3.gabc), else
# FyneApp.toml's version plus the commit (0.1.0+git70d2cf1).
PKG_VERSION := $(shell echo '$(VERSION)' | sed -e 's/^v\([0-9]\)/\1/' -e 't tag' -e 's/-/./g' -e 's/^/$(APP_VERSION)+git/' -e 'b' -e ':tag' -e 's/-/+/' -e 's/-/./g')
PKG_ARCH    := $(shell $(GO) env GOARCH 2>/dev/null || echo amd64)
APP_BUILD   := $(shell sed -n 's/^[[:space:]]*Build[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' FyneApp.toml)

# make windows: the companion for Windows in $(WIN_DIST)/ (see packaging/windows/).
# WIN_ENV is the one cgo environment of the Windows build and its go vet:
# mingw-w64 against the libfido2 that go-libfido2 bundles (headers, import
# libraries and DLLs under its windows/). The go build cache keys Fyne's cgo
# on these exact CGO_CFLAGS and CGO_LDFLAGS: any other value, or order,
# compiles it all again (5 minutes and more).
WIN_DIST  := $(DIST)/windows
WIN_OBJ   := $(DIST)/windows-obj
WIN_SYSO  := app/countersign/rsrc_windows_amd64.syso
WIN_FIDO2  = $(shell $(GO) list -m -f '{{.Dir}}' github.com/keys-pub/go-libfido2)
WIN_ENV    = CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CGO_CFLAGS="-I$(WIN_FIDO2)/windows/include" CGO_LDFLAGS="-L$(WIN_FIDO2)/windows/lib"

all: build

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"
	@if ! [ -x "$$(command -v $(GO))" ]; then \
		echo "deps: Go is missing: install Go 1.26 or newer from https://go.dev/dl/ (Debian 12's golang-go is too old)"; exit 1; \
	fi
	@$(MAKE) --no-print-directory deps-npm

# npm packages the tests run with Node.js (20.19 or newer; without it only
# those tests fail, make run still works), each folder's package-lock.json
# installed by npm ci when its node_modules is older:
#   internal/server/e2e/testdata/openid-client   openid-client, the certified relying party of TestOpenIDClient
#   internal/api/testdata/redocly                Redocly CLI, the OpenAPI linter of TestOpenAPILint (one bundled package, 15 MB)
NPM_DIRS := internal/server/e2e/testdata/openid-client internal/server/e2e/testdata/axe internal/api/testdata/redocly
deps-npm:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "deps: Node.js and npm are missing (Debian 12's are too old): install Node.js 20.19 or newer with npm, or make test fails TestOpenIDClient and TestOpenAPILint"; exit 0; \
	fi
	@for d in $(NPM_DIRS); do \
		if ! [ -f "$$d/node_modules/.package-lock.json" ] || [ "$$d/package-lock.json" -nt "$$d/node_modules/.package-lock.json" ]; then \
			echo "deps: npm ci in $$d"; \
			npm ci --prefix "$$d" --no-audit --no-fund --loglevel=error >/dev/null || exit 1; \
		fi; \
	done

deps-qr:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(QR_PACKAGES)"

deps-bench-ui:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(UI_BENCH_PACKAGES)"

deps-package:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(PACKAGE_PACKAGES)"

deps-windows:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(WIN_PACKAGES)"

# Installs the Debian packages in PACKAGES that are missing.
install-packages:
	@missing=""; \
	for p in $(PACKAGES); do \
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
	fi

build: deps
	$(GO) build -trimpath -tags '$(APP_TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/countersign ./app/countersign
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/countersign-server ./app/countersign-server

# Starts a local countersign-server (SQLite under the XDG data dir, a demo
# account seeded on first start), pairs the companion with the demo account
# (once) and adds the demo's authenticator code to it, then opens the
# companion; the server stops when the companion's window closes.
DEMO_LOGIN := demo@countersign.test
DEMO_TOTP  := otpauth://totp/Countersign%20demo:demo@countersign.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Countersign%20demo
run: build
	@./$(BIN)/countersign-server --dev & srv=$$!; \
	trap 'kill $$srv 2>/dev/null; wait $$srv 2>/dev/null' EXIT INT TERM; \
	if ./$(BIN)/countersign accounts 2>/dev/null | grep -q "$(DEMO_LOGIN)	http://localhost:8080	paired"; then \
		echo "run: the companion is paired with $(DEMO_LOGIN) already"; \
	else \
		for i in 1 2 3 4 5 6 7 8 9 10; do \
			kill -0 $$srv 2>/dev/null || exit 1; \
			uri=$$(./$(BIN)/countersign-server pairing-code --login $(DEMO_LOGIN) 2>/dev/null) && \
				./$(BIN)/countersign pair "$$uri" && break; \
			sleep 1; \
		done; \
	fi; \
	./$(BIN)/countersign add '$(DEMO_TOTP)' >/dev/null 2>&1 || true; \
	echo "run: countersign-server at http://localhost:8080 — sign in there as $(DEMO_LOGIN), password countersign-demo, and approve on the desktop"; \
	./$(BIN)/countersign

# Every test, with the race detector, the vault and CLI ones against a real
# Secret Service in a private D-Bus session (.ci/keyring-session), summarised
# per package by .ci/gotest (a skip that does not say why it cannot run here
# fails the run). The -timeout is a guard: every package takes well under it.
# NORACE are libraries of pure computation left out of the race detector's
# instrumentation (text shaping, font and SVG rasterising, QR decoding): our
# code and Fyne's stay instrumented, and the window's tests take about half
# the time (each one shapes its text again, 20 times slower instrumented).
TEST_TIMEOUT ?= 8m
NORACE := github.com/go-text/... golang.org/x/image/... github.com/srwiley/... github.com/fyne-io/oksvg github.com/makiuchi-d/gozxing/...
# The Windows build (make windows) comes first: the tests run it under Wine
# (COUNTERSIGN_WINDOWS_DIST, COUNTERSIGN_TEST_WINE).
test: deps
	$(GO) vet ./...
	@$(MAKE) --no-print-directory vet-cross
	$(GO) run $(STATICCHECK) ./...
	@$(MAKE) --no-print-directory windows
	COUNTERSIGN_TEST_X11=1 COUNTERSIGN_TEST_FIDO=1 COUNTERSIGN_TEST_POSTGRES=1 COUNTERSIGN_TEST_BROWSER=1 COUNTERSIGN_TEST_NODE=1 COUNTERSIGN_TEST_TOOLS=1 \
		COUNTERSIGN_TEST_WINE=1 COUNTERSIGN_WINDOWS_DIST=$(CURDIR)/$(WIN_DIST) \
		GO=$(GO) .ci/keyring-session .ci/gotest -race $(foreach p,$(NORACE),-gcflags=$(p)=-race=false) -count=1 -timeout $(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory test-package

# The Linux tarball, .deb and .rpm of both programs under $(DIST)/ (see packaging/).
# fyne package runs in a scratch copy of FyneApp.toml, which it rewrites.
package: build
	rm -rf $(DIST) && mkdir -p $(DIST)/fyne/assets
	cp FyneApp.toml $(DIST)/fyne/ && cp assets/icon-512.png $(DIST)/fyne/assets/
	printf 'package main\n\nfunc main() {}\n' >$(DIST)/fyne/main.go # fyne wants Go code in its folder; --exe is what it packs
	cd $(DIST)/fyne && $(GO) run $(FYNE_TOOL) package -os linux --exe "$(CURDIR)/$(BIN)/countersign" --app-version "$(APP_VERSION)"
	mv $(DIST)/fyne/Countersign.tar.xz $(DIST)/countersign-$(PKG_VERSION)-linux-$(PKG_ARCH).tar.xz && rm -rf $(DIST)/fyne
	for pkg in countersign countersign-server; do \
		mkdir -p $(DIST)/doc/$$pkg && \
		printf '%s (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- The Countersign authors <countersign@users.noreply.github.com>  %s\n' \
			$$pkg '$(PKG_VERSION)' '$(VERSION)' "$$(date -R)" | gzip -9n >$(DIST)/doc/$$pkg/changelog.gz || exit 1; \
		for fmt in deb rpm; do \
			PKG_VERSION='$(PKG_VERSION)' PKG_ARCH='$(PKG_ARCH)' $(GO) run $(NFPM) package \
				-f packaging/nfpm/$$pkg.yaml -p $$fmt -t $(DIST)/ || exit 1; \
		done; \
	done
	rm -rf $(DIST)/doc
	@ls -l $(DIST)

# The companion for Windows, in $(WIN_DIST)/: countersign.exe (a GUI program,
# so no console window opens with it; its CLI writes to the console it was
# started from) with its icon, version information and manifest
# (packaging/windows/countersign.rc, compiled into $(WIN_SYSO), which git
# ignores), libfido2's DLLs beside it, and Countersign-X.Y.Z.msi
# (packaging/windows/countersign.wxs, by wixl). X.Y.Z is FyneApp.toml's
# Version; its Build is the fourth number of the file version.
windows: deps-windows
	@echo '$(APP_VERSION)' | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' || \
		{ echo "windows: FyneApp.toml's Version is \"$(APP_VERSION)\"; an .msi needs X.Y.Z (numbers): fix it there"; exit 1; }
	@mkdir -p $(WIN_DIST) $(WIN_OBJ)
	$(GO) run ./packaging/windows/mkico -o $(WIN_OBJ)/countersign.ico
	@printf '#define CS_FILEVERSION %s,%s\n#define CS_VERSION "%s"\n#define CS_PRODUCT_VERSION "%s"\n' \
		"$$(echo '$(APP_VERSION)' | tr . ,)" '$(APP_BUILD)' '$(APP_VERSION)' '$(VERSION)' >$(WIN_OBJ)/version.h
	x86_64-w64-mingw32-windres -I $(WIN_OBJ) -I packaging/windows -O coff -o $(WIN_SYSO) packaging/windows/countersign.rc
	$(WIN_ENV) $(GO) build -trimpath -ldflags '$(LDFLAGS) -H windowsgui' -o $(WIN_DIST)/countersign.exe ./app/countersign
	install -m 644 $(WIN_FIDO2)/windows/lib/fido2.dll $(WIN_FIDO2)/windows/lib/cbor.dll $(WIN_FIDO2)/windows/lib/crypto-45.dll $(WIN_DIST)/
	rm -f $(WIN_DIST)/Countersign-*.msi
	wixl -a x64 -D Version=$(APP_VERSION) -D Dist=$(WIN_DIST) -D Obj=$(WIN_OBJ) \
		-o $(WIN_DIST)/Countersign-$(APP_VERSION).msi packaging/windows/countersign.wxs
	@ls -l $(WIN_DIST)

# go vet for the other systems (make test runs it): Windows with make
# windows' cgo environment and -trimpath, every package (so it reuses the
# packages make windows compiled: a fresh cache compiles Fyne's C once, not
# twice); macOS without cgo, every package whose code and tests do not import
# Fyne (found with go list's Deps): Fyne's macOS files need cgo with Apple's
# SDK, which only a Mac has.
vet-cross:
	$(WIN_ENV) $(GO) vet -trimpath ./...
	GOOS=darwin CGO_ENABLED=0 $(GO) vet $$(GOOS=darwin CGO_ENABLED=0 $(GO) list -e -test \
		-f '{{if .ForTest}}{{.ForTest}}{{else}}{{.ImportPath}}{{end}} {{join .Deps " "}}' ./... | \
		awk '{ p = $$1; sub(/\.test$$/, "", p); all[p] = 1; for (i = 2; i <= NF; i++) if ($$i == "fyne.io/fyne/v2") fyne[p] = 1 } \
			END { for (p in all) if (!fyne[p]) print p }')

# Builds the packages and checks them: lintian, appstreamcli, desktop-file-validate,
# systemd-analyze; installs and removes the .debs when CI=true or
# COUNTERSIGN_TEST_PACKAGE_INSTALL=1 (it changes this machine's root).
# countersign-server for other systems (pure Go, no cgo): dist/cross/. The
# companion needs cgo (OpenGL, libfido2): make windows builds it for Windows,
# and macOS needs a Mac (see the README).
CROSS := windows/amd64 darwin/arm64 darwin/amd64 linux/arm64
cross:
	@for t in $(CROSS); do \
		os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "cross: countersign-server $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o dist/cross/countersign-server-$$os-$$arch$$ext ./app/countersign-server || exit 1; \
	done

test-package: deps deps-package
	.ci/test-package

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

# countersign-server's sign-in throughput against this machine's Argon2id
# rate, and API reads, as a table (BENCHTIME=300x, COUNT=3 by default).
bench-server: deps
	.ci/bench-server

# Sign-in approvals with 1,000 paired companions holding streams: delivery and
# decision latency (p50/p99 over 1,000 requests), round trips per second,
# memory per open stream.
bench-approvals: deps
	$(GO) test -run '^$$' -bench Approvals -benchtime 1000x ./internal/server/bench

# countersign-server under load on loopback, bounded: 10,000 approval
# streams on one instance (SQLite) and on two (PostgreSQL), then 10 minutes
# of sign-ins, approvals, API reads and OAuth refreshes on each, as tables
# (.ci/soak; SOAK_DURATION=1m SOAK_STREAMS=1000 for a quick check).
soak: deps
	GO=$(GO) .ci/soak

# The Account screen with 200 devices, 100 apps and 5,000 events: each tab's
# first frame, from a fake and from a real countersign-server in-process, and
# scrolling its lists, as a table (BENCHTIME=50x by default).
bench-dashboard: deps
	GO=$(GO) .ci/bench-dashboard

# Faults on purpose (internal/chaos, build tag chaos): the real server,
# PostgreSQL and companion code broken in each case, one table row per case
# (what was done, what the user saw, what was lost); fails when a row lost
# something. Kept in chaos.md too. See the README's "Faults (make chaos)".
chaos: deps
	GO=$(GO) .ci/chaos

# Countersign's QR decoder against zbarimg on testdata/qr, as a table.
bench-qr: deps deps-qr
	.ci/bench-qr

# The window's screens as the README shows them, in the light theme (NAME.png)
# and the dark one (NAME-dark.png): the real window on Xvfb, the Authenticator
# and Settings with the accounts of testdata, the Account screen's tabs against
# a real countersign-server --dev (the tests that check them, with their
# pictures kept).
screenshots: deps
	for theme in light dark; do \
		FYNE_THEME=$$theme COUNTERSIGN_SCREENSHOTS=$(CURDIR)/packaging/screenshots COUNTERSIGN_TEST_X11=1 \
			.ci/keyring-session $(GO) test -count=1 -run 'TestWindowScreensOnX11|TestAccountScreensOnX11' ./app/countersign/ \
			|| exit 1; \
	done
	COUNTERSIGN_SCREENSHOTS=$(CURDIR)/packaging/screenshots COUNTERSIGN_TEST_NODE=1 \
		$(GO) test -count=1 -run 'TestAccessibility' ./internal/server/e2e/

# The window (545 accounts) against a bare Fyne window (.ci/hello), same run:
# start to mapped, idle RSS, idle CPU and the frames drawn meanwhile,
# keystroke to frame (.ci/keylatency), as a table (RUNS=5 by default;
# DISPLAY_NUMBER picks Xvfb's display).
bench-ui: deps deps-bench-ui
	.ci/bench-ui

# Redraws the QR corpus in testdata/qr (the images are committed).
corpus: deps deps-qr
	testdata/qr/make-corpus.sh

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf $(BIN) dist $(WIN_SYSO) bench.out bench-server.out soak.out test.json chaos.md
