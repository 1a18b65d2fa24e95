# trailguard: build, test and run the Lambdas locally, and deploy them with the CDK. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
GO ?= go
FUNCTIONS := provider remediator
DIST := dist
# Lambda build flags (testbed.BuildFunction uses the same for the host builds the tests and benchmarks run).
# No inlining inside the AWS SDK: its generated (de)serializers are I/O-bound, and the zip shrinks from 3.59 to
# 3.46 MB, which is download time at every cold start; the runtime and standard library keep their inlining.
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags "-s -w" -gcflags "github.com/aws/...=-l"
# The Go packages: listed explicitly, because node_modules/ (the pinned CDK CLI) ships Go templates that ./... would
# try to build.
PKGS := ./internal/... ./functions/... ./infra/...
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" when a
# -fuzztime duration ends mid-run on a loaded machine (golang/go#75804, fixed in Go 1.27). 100,000 inputs take a
# few seconds per target here.
FUZZTIME ?= 100000x
BENCHTIME ?= 20x
BENCHFLAGS ?=
# make invoke FN=remediator EVENT=events/remediator/sweep.json [TARGET=aws]
FN ?= remediator
EVENT ?= events/remediator/sweep.json
TARGET ?= local

.PHONY: help build lint test unit fuzz bench demo invoke clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

demo: ## the whole story on this machine, no AWS account: moto, both Lambdas, an attack, the repairs
	$(GO) run ./internal/localrun/cmd/demo

test: lint unit fuzz cfn-lint ## what CI runs: lint, every test, a bounded fuzz of every fuzz target, cfn-lint

build: $(FUNCTIONS:%=$(DIST)/%.zip) ## build dist/<function>.zip (bootstrap, linux/arm64)

$(DIST)/%.zip: FORCE
	@mkdir -p $(DIST)/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(DIST)/$*/bootstrap ./functions/$*
	@# Info-ZIP's deflate is 3% smaller than Go's; lambdazip serves machines without it. Both are deterministic.
	@rm -f $@; if command -v zip >/dev/null; then \
	  cd $(DIST)/$* && touch -d 1980-01-01T00:00:00Z bootstrap && zip -q -X -9 ../$*.zip bootstrap; \
	else $(GO) run ./internal/lambdazip -o $@ $(DIST)/$*/bootstrap; fi
	@ls -l $@ | awk '{print "  " $$9 ": " $$5 " bytes"}'

FORCE:

lint: ## gofmt, go vet, staticcheck: fail on any finding
	@out=$$(gofmt -l internal functions infra); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

unit: build ## all Go tests, against moto_server (the benchmark harness test reads the zips make build makes)
	$(GO) test -count=1 $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME inputs each
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/trailguard-fuzz.log 2>&1 || { cat /tmp/trailguard-fuzz.log; exit 1; }; \
	  done; done

bench: build ## the Go benchmarks, then the whole-process harness that writes BENCHMARKS.md (BENCHFLAGS=-quick: a short run)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./internal/... | grep -E '^(Benchmark|ok|FAIL|pkg)'
	$(GO) run ./internal/benchrun/cmd/bench $(BENCHFLAGS)

invoke: ## run one function on one event: make invoke FN=provider EVENT=events/provider/create.json [TARGET=aws]
	$(GO) run ./internal/localrun/cmd/invoke -fn $(FN) -event $(EVENT) -target $(TARGET)

clean: ## remove build output
	rm -rf $(DIST) cdk.out

include infra/cdk.mk
