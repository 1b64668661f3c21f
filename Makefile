# offlinekit — one command each: `make test` runs every test, `make demo` runs the main job.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
DIST := $(CURDIR)/dist
RIDS := linux-x64 linux-arm64
# The lab hosts have fixed names: one lab per machine. The integration tests, the demo and the
# install benchmark each hold this lock while their lab is up (a second run waits). flock -o: the
# lock stays with flock itself, so no server a test starts inherits it (or outlives it holding it).
LAB_LOCK := /tmp/offlinekit-lab.lock
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: all build publish prerequisites test unit-test integration-test demo bench clean format catalogs

all: build

build:
	$(DOTNET) build OfflineKit.sln -c $(CONFIG)

# Self-contained single-file offlinekit for each arch: what a bundle carries under bin/. Not
# compressed: decompressing it at every start costs more time and memory than its size saves.
publish: $(addprefix $(DIST)/,$(addsuffix /offlinekit,$(RIDS)))

$(DIST)/%/offlinekit: $(shell find src manifests -type f -not -path '*/bin/*' -not -path '*/obj/*') Directory.Build.props Directory.Packages.props
	$(DOTNET) publish src/OfflineKit.Cli/OfflineKit.Cli.csproj -c $(CONFIG) -r $* --self-contained \
	  -p:PublishSingleFile=true -p:DebugType=none -o $(DIST)/$*

# The Debian packages the demo, the tests and the benchmarks use (tests/lab/prerequisites.sh holds
# the one list): installs what is missing, says so in one line when nothing is.
prerequisites:
	@bash tests/lab/prerequisites.sh

# The whole suite: unit tests, then the tests against real tools (they use the published binary).
# Ends with its duration, each failed test again with the start of its message (a log's tail shows
# it), and one line adding up every test run ("tests: N passed, N failed, N skipped").
test: prerequisites
	@start=$$(date +%s); log=$$(mktemp); set -o pipefail; status=0; \
	$(MAKE) --no-print-directory unit-test integration-test 2>&1 | tee "$$log" || status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; \
	awk '/^ +Passed: [0-9]+$$/ { p += $$2 } /^ +Failed: [0-9]+$$/ { f += $$2 } /^ +Skipped: [0-9]+$$/ { s += $$2 } \
	  /^Test Run (Failed|Aborted)/ { bad = 1 } \
	  /^  Failed [^ ]/ { keep = 12; failed = failed "\n" } /^(Test Run|Total tests|  Passed |\[xUnit)/ { keep = 0 } keep > 0 { failed = failed $$0 "\n"; keep-- } \
	  END { if (failed != "") printf "failed tests, each with the start of its message:%s", failed; \
	        printf "tests: %d passed, %d failed, %d skipped\n", p, (f == 0 && bad ? 1 : f), s }' "$$log"; \
	rm -f "$$log"; exit $$status

# The version catalog as code (src/OfflineKit/Catalog/BuiltInCatalogs.g.cs), written again from
# manifests/version-catalog.yaml and manifests/kubeadm-images.yaml: run it after changing either.
catalogs:
	OFFLINEKIT_WRITE_CATALOGS=1 $(DOTNET) test tests/OfflineKit.Tests/OfflineKit.Tests.csproj -c $(CONFIG) --filter FullyQualifiedName~BuiltInCatalogTests

unit-test: prerequisites
	$(DOTNET) test tests/OfflineKit.Tests/OfflineKit.Tests.csproj -c $(CONFIG) --logger "console;verbosity=normal"

integration-test: prerequisites publish
	OFFLINEKIT_DIST=$(DIST) OFFLINEKIT_LAB_LOCKED=1 flock -o $(LAB_LOCK) $(DOTNET) test tests/OfflineKit.IntegrationTests/OfflineKit.IntegrationTests.csproj -c $(CONFIG) --logger "console;verbosity=normal"

# Needs root: the lab hosts are network namespaces. Sets up the whole lab itself and stops it after.
# K8S=X.Y.Z and RUNTIME=docker|containerd choose the bundle (default: the guide's 1.23.0 with docker).
demo: prerequisites publish
	K8S="$(K8S)" RUNTIME="$(RUNTIME)" bash tests/lab/demo.sh

# Each prints offlinekit beside its peer and the ratios. images.sh runs twice: on bare loopback (speed,
# size, memory: where the tools themselves differ) and over a 100 Mbit/s link (a warm rebuild against a
# cold one: a cache only shows where downloading costs something). install.sh times the demo's install
# onto the lab hosts per step, and a rerun against the first install.
bench: prerequisites publish
	bash bench/verify.sh
	bash bench/images.sh
	BANDWIDTH_MBPS=100 RUNS=1 bash bench/images.sh
	K8S=1.30.1 OS=el9 bash bench/images.sh
	bash bench/rpms.sh
	bash bench/push.sh
	bash bench/install.sh
	bash bench/scale.sh

format:
	$(DOTNET) format OfflineKit.sln

clean:
	rm -rf $(DIST) bundles/*.tar bundles/*.tar.* .lab
	$(DOTNET) clean OfflineKit.sln -c $(CONFIG)
