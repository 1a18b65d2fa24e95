# trailguard: build, test and run the Lambdas locally, and deploy them with the CDK. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
GO ?= go
# Every go command below (and every one they start, such as the test bed's builds) uses this exact toolchain:
# go1.26.8 has standard-library vulnerabilities reachable from both functions, fixed in go1.26.10. A go of 1.21
# or later downloads it from the Go module proxy on first use (about 70 MB). go.mod's toolchain line says the same
# for go commands run outside make; here it is exported because GOTOOLCHAIN=local in a go env file would win.
export GOTOOLCHAIN := go1.26.10
# Node 20, which this machine and CI have, is past its end of life; jsii (the CDK's Go bindings, in the infra tests
# and synth) then prints a 10-line banner on every start. The README recommends Node 22 or 24; this silences the
# banner for Node 20 only, so any other unsupported version still gets it.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Nothing outside the checkout but the Go and npm caches: go's work folders of the builds a person may interrupt
# (go-build*, tens of MB, left behind when Ctrl-C cuts a build short) and jsii's package cache (about 160 MB,
# ~/.cache by default) go into .cache/, ignored by git (testbed.GoTmpDir names the same folder for the builds the
# tests and the demo start). GOTMPDIR is set per build, not exported: go test would then make every t.TempDir
# there, and a test that uses one is never served from Go's test cache.
GO_TMP := $(CURDIR)/.cache/go-tmp
GO_BUILD := mkdir -p $(GO_TMP) && GOTMPDIR=$(GO_TMP) $(GO) build
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.cache/jsii
FUNCTIONS := provider remediator
DIST := dist
# Lambda build flags: functions/lambda.flags says what each is for; testbed.BuildFunction reads the same file.
# Each line becomes one shell word.
GOFLAGS_LAMBDA := $(shell sed -e '/^[[:space:]]*\#/d' -e '/^[[:space:]]*$$/d' -e "s/.*/'&'/" functions/lambda.flags)
ifeq ($(GOFLAGS_LAMBDA),)
$(error functions/lambda.flags is missing or empty)
endif
# The Go packages: listed explicitly, because node_modules/ (the pinned CDK CLI) ships Go templates that ./... would
# try to build.
PKGS := ./internal/... ./functions/... ./infra/... ./cmd/...
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" when a
# -fuzztime duration ends mid-run on a loaded machine (golang/go#75804, fixed in Go 1.27). The 7 targets at 100,000
# inputs each took 116 s at a load average of 14 on 2 cores, of a first make test of 546 s (the budget: 6 minutes
# on a quiet machine).
FUZZTIME ?= 100000x
BENCHTIME ?= 20x
BENCHFLAGS ?=
# make invoke FN=remediator EVENT=events/remediator/sweep.json [TARGET=aws]
FN ?= remediator
EVENT ?= events/remediator/sweep.json
TARGET ?= local
CISFLAGS ?=

# SKIP_AWS=1 runs `make test` without moto_server (the AWS tests are skipped and counted); SKIP_CFN_LINT=1 without
# cfn-lint. Both are explicit choices: a missing tool otherwise fails the run. CI honours neither.
SKIP_AWS ?=
SKIP_CFN_LINT ?=
export SKIP_AWS

.PHONY: help build lint test preflight unit fuzz vuln bench demo demo-org invoke cis-check clean

# A description too long for 100 columns wraps onto an indented line (internal/dev/localrun's help test checks).
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ \
	  line = sprintf("  %-11s %s", $$1, $$2); \
	  while (length(line) > 100) { cut = 100; while (cut > 15 && substr(line, cut, 1) != " ") cut--; \
	    print substr(line, 1, cut - 1); line = sprintf("%15s%s", "", substr(line, cut + 1)); } \
	  print line }'

# The commands are built, then run (not `go run`): a first build downloads and compiles for minutes, which is said
# rather than left silent, and Ctrl-C reaches the demo itself.
demo: ## the whole story on this machine, no AWS account: moto, both Lambdas, an attack, repairs
	@[ -x $(DIST)/bin/demo ] || echo "demo: building the demo command (a first run downloads Go modules: minutes)"
	@$(GO_BUILD) -o $(DIST)/bin/demo ./cmd/demo
	@$(DIST)/bin/demo

demo-org: ## an AWS Organization on moto: StackSets, adoption, central alerts, delegated administrator
	@[ -x $(DIST)/bin/demo-org ] || echo "demo-org: building the demo-org command (a first run downloads Go modules: minutes)"
	@$(GO_BUILD) -o $(DIST)/bin/demo-org ./cmd/demo-org
	@$(DIST)/bin/demo-org

test: ## what CI runs: lint, build, every test, a bounded fuzz, govulncheck, cfn-lint
	@.ci/stages preflight lint build unit fuzz vuln cfn-lint

# preflight: the tools `make test` needs, each missing one named on one line with how to get it or skip it.
preflight:
	@rc=0; \
	if ! command -v moto_server >/dev/null; then \
	  if [ "$${SKIP_AWS:-}" = 1 ] && [ -z "$${CI:-}" ]; then echo "moto_server missing: the AWS tests will be SKIPPED (SKIP_AWS=1)"; \
	  else echo "make test: moto_server is missing: pip install 'moto[server]==5.2.1', or run SKIP_AWS=1 make test to skip the AWS tests"; rc=1; fi; fi; \
	if ! command -v cfn-lint >/dev/null; then \
	  if [ "$${SKIP_CFN_LINT:-}" = 1 ] && [ -z "$${CI:-}" ]; then echo "cfn-lint missing: the template lint will be SKIPPED (SKIP_CFN_LINT=1)"; \
	  else echo "make test: cfn-lint is missing: pip install cfn-lint, or run SKIP_CFN_LINT=1 make test to skip the template lint"; rc=1; fi; fi; \
	[ $$rc = 0 ] && echo "$$($(GO) env GOVERSION), moto_server $$(command -v moto_server >/dev/null && echo found || echo SKIPPED), cfn-lint $$(command -v cfn-lint >/dev/null && echo found || echo SKIPPED)"; \
	exit $$rc

build: $(FUNCTIONS:%=$(DIST)/%.zip) ## build dist/<function>.zip (bootstrap, linux/arm64), byte-identical for a commit

# The build pins what a machine's environment could change (GOARM64, GOEXPERIMENT, GOFLAGS). The zip is always
# made by lambdazip (fixed name, mode and timestamp, Go's deflate at a pinned toolchain), not by
# the zip command, whose output depends on its version and the umask: the same commit then gives the same zip, and
# the same CDK asset hash, on every machine. `go version -m` proves no VCS stamp or local path went in.
$(DIST)/%.zip: FORCE
	@mkdir -p $(DIST)/$*
	@mkdir -p $(GO_TMP); CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOARM64=v8.0 GOEXPERIMENT= GOFLAGS= GOTMPDIR=$(GO_TMP) $(GO) build $(GOFLAGS_LAMBDA) -o $(DIST)/$*/bootstrap ./functions/$*
	@info=$$($(GO) version -m $(DIST)/$*/bootstrap); \
	  if grep -q 'vcs\.' <<<"$$info" || ! grep -q -- '-trimpath=true' <<<"$$info"; then \
	    echo "$(DIST)/$*/bootstrap is not reproducible: it carries VCS or path information:"; echo "$$info"; exit 1; fi
	@rm -f $@; $(GO) run ./cmd/lambdazip -o $@ $(DIST)/$*/bootstrap
	@echo "$@: $$(wc -c <$@) bytes, sha256 $$(sha256sum $@ | cut -c1-16), $(GOTOOLCHAIN)"

FORCE:

lint: ## gofmt, go vet, staticcheck: fail on any finding
	@out=$$(gofmt -l internal functions infra); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@$(GO) vet $(PKGS)
	@$(GO) tool staticcheck $(PKGS)
	@echo "gofmt, go vet, staticcheck: no findings"

# Go's test cache serves the packages whose tests read only what go records for the cache (their code, their
# testdata and other files they open or stat, the environment variables they read, the executables they look up in
# PATH: node and cfn-lint for infra/stacks, whose IAM evaluator's folder in node_modules it stats, so `npm ci`
# invalidates it): a result there cannot change while those do not. Packages whose tests use the test bed (any
# internal/dev/ import) run every time: moto_server's Python code, and bootstraps built from sources outside the
# test binary, are invisible to the cache.
# node_modules/.bin/cdk is `npm ci` (infra/cdk.mk): the infra tests also run the pinned IAM policy evaluator from it.
MODULE := github.com/trailguard/trailguard
unit: build node_modules/.bin/cdk ## all Go tests, against moto_server; Go's test cache for packages without the test bed
	@fresh=; cached=; \
	while read -r pkg deps; do \
	  case " $$pkg $$deps " in *"$(MODULE)/internal/dev/"*) fresh="$$fresh $$pkg" ;; *) cached="$$cached $$pkg" ;; esac; \
	done < <($(GO) list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' $(PKGS)); \
	{ rc=0; $(GO) test -json $$cached || rc=1; $(GO) test -json -count=1 $$fresh || rc=1; exit $$rc; } | \
	  $(GO) run ./cmd/testsum

# A target is fuzzed again only when something it depends on changed: its compiled code and that of every package
# it imports (go list -export names each by content hash), its seed corpus, FUZZTIME or the toolchain; a target that
# passed with the same inputs is counted, not rerun (FUZZ_FRESH=1 reruns all). Its output goes to .cache/fuzz/,
# shown only if it fails; a progress line names each target as it starts.
FUZZ_CACHE := .cache/fuzz
FUZZ_FRESH ?=
fuzz: ## every fuzz target for FUZZTIME inputs (one unchanged since it passed is not rerun)
	@mkdir -p $(FUZZ_CACHE); \
	targets=$$($(GO) list -f '{{.ImportPath}} {{.Dir}}' ./internal/... | while read -r pkg dir; do \
	  cat "$$dir"/*_test.go 2>/dev/null | sed -n "s|^func \(Fuzz[A-Za-z0-9_]*\)(.*|$$pkg $$dir \1|p"; done); \
	total=$$(grep -c . <<<"$$targets" || true); n=0; same=0; \
	while read -r pkg dir f; do \
	  n=$$((n+1)); name="$${pkg#$(MODULE)/} $$f"; \
	  key=$$( { echo "$(FUZZTIME) $(GOTOOLCHAIN) $$pkg $$f"; $(GO) list -deps -test -export -f '{{.Export}}' $$pkg; \
	    find "$$dir/testdata/fuzz/$$f" -type f -exec sha256sum {} + 2>/dev/null | sort || true; } | sha256sum | cut -c1-32); \
	  if [ -f $(FUZZ_CACHE)/$$key ] && [ -z "$(FUZZ_FRESH)" ]; then \
	    same=$$((same+1)); echo "progress: fuzz $$n/$$total $$name: unchanged since it passed"; continue; fi; \
	  echo "progress: fuzz $$n/$$total $$name for $(FUZZTIME) inputs"; \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > $(FUZZ_CACHE)/last.log 2>&1 || \
	    { echo "fuzz $$name for $(FUZZTIME) FAILED:"; cat $(FUZZ_CACHE)/last.log; exit 1; }; \
	  touch $(FUZZ_CACHE)/$$key; \
	done <<<"$$targets"; \
	echo "$$total fuzz targets, $(FUZZTIME) inputs each: no failure ($$same unchanged since they passed)"

# govulncheck over both functions, failing on a vulnerability their code can reach. With vuln.go.dev reachable it
# uses that; offline, the Go vulnerability database's own module (golang.org/x/vulndb: its data/osv holds every
# entry as OSV JSON, which govulncheck reads as a local database) from the Go module proxy, or from the module
# cache when the proxy is unreachable too. Without either it says it skipped, and fails under CI.
VULNDB_MODULE := golang.org/x/vulndb
# A check is not repeated while the functions' compiled code (every package, by content hash) and the database's
# version (vuln.go.dev's modified date, or the x/vulndb module's) are those of a check that passed.
VULN_CACHE := .cache/vuln
vuln: ## govulncheck of ./functions/... (offline: the golang.org/x/vulndb module)
	@db=https://vuln.go.dev; src="vuln.go.dev"; \
	if index=$$(curl -fsS -m 10 $$db/index/db.json 2>/dev/null); then \
	  when=$$(sed -n 's/.*"modified" *: *"\([0-9T:.-]*\).*/\1/p' <<<"$$index"); \
	  src="vuln.go.dev of $${when:-$$(sha256sum <<<"$$index" | cut -c1-12)}"; \
	else \
	  tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  dir=$$(cd "$$tmp" && GOFLAGS=-mod=mod $(GO) mod download -json $(VULNDB_MODULE)@latest 2>/dev/null | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p' || true); \
	  if [ -z "$$dir" ]; then \
	    dir=$$(cd "$$tmp" && GOFLAGS=-mod=mod GOPROXY=file://$$($(GO) env GOMODCACHE)/cache/download $(GO) mod download -json $(VULNDB_MODULE)@latest 2>/dev/null | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p' || true); fi; \
	  if [ -z "$$dir" ] || [ ! -d "$$dir/data/osv" ]; then \
	    echo "govulncheck: SKIPPED offline: vuln.go.dev and the $(VULNDB_MODULE) module are both unreachable"; [ -z "$${CI:-}" ]; exit $$?; fi; \
	  v=$${dir##*@}; v=$${v#v0.0.0-}; db=file://$$dir/data/osv; src="offline, x/vulndb of $${v:0:8}"; fi; \
	key=$$( { echo "$$src $(GOTOOLCHAIN)"; $(GO) list -deps -export -f '{{.Export}}' ./functions/...; } | sha256sum | cut -c1-32); \
	if [ -f $(VULN_CACHE)/$$key ]; then \
	  echo "no reachable vulnerability in ./functions/... ($(GOTOOLCHAIN), DB $$src; unchanged since checked)"; exit 0; fi; \
	$(GO) tool govulncheck -db "$$db" ./functions/...; \
	mkdir -p $(VULN_CACHE); touch $(VULN_CACHE)/$$key; \
	echo "no reachable vulnerability in ./functions/... ($$($(GO) env GOVERSION), DB $$src)"

# QUICK=1 (make reads `make bench -quick` as its own flags -q -u -i -c -k) runs the harness's short mode.
QUICK ?=
bench: build ## the Go benchmarks, then the harness that writes BENCHMARKS.md (QUICK=1: a short run)
	@$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./internal/... | grep -E '^(Benchmark|ok|FAIL|pkg)'
	@$(GO) run ./cmd/bench $(if $(QUICK),-quick) $(BENCHFLAGS)

invoke: ## one function, one event: FN=provider EVENT=events/provider/create.json [TARGET=aws]
	@[ -x $(DIST)/bin/invoke ] || echo "invoke: building the invoke command (a first run downloads Go modules: minutes)"
	@$(GO_BUILD) -o $(DIST)/bin/invoke ./cmd/invoke
	@$(DIST)/bin/invoke -fn $(FN) -event $(EVENT) -target $(TARGET)

cis-check: ## evaluate CloudTrail.1, CloudTrail.5 and CloudWatch.1-14 as Security Hub does: on moto, or TARGET=aws (CISFLAGS=-json)
	@[ -x $(DIST)/bin/cis-check ] || echo "cis-check: building the cis-check command (a first run downloads Go modules: minutes)"
	@$(GO) build -o $(DIST)/bin/cis-check ./cmd/cis-check
	@$(DIST)/bin/cis-check -target $(TARGET) $(CISFLAGS)

clean: ## remove build output
	rm -rf $(DIST) cdk.out

include infra/cdk.mk
