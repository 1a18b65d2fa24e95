# trailguard: build, test and run the Lambdas locally. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
FUNCTIONS := provider remediator
DIST := dist
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags "-s -w"
FUZZTIME ?= 10s

.PHONY: help build lint test unit fuzz bench demo invoke clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: $(FUNCTIONS:%=$(DIST)/%.zip) ## build dist/<function>.zip (bootstrap, linux/arm64)

$(DIST)/%.zip: FORCE
	@mkdir -p $(DIST)/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(DIST)/$*/bootstrap ./functions/$*
	@rm -f $@ && cd $(DIST)/$* && touch -d 1980-01-01T00:00:00Z bootstrap && zip -q -X -9 ../$*.zip bootstrap
	@ls -l $@ | awk '{print "  " $$9 ": " $$5 " bytes"}'

FORCE:

lint: ## gofmt, go vet, staticcheck: fail on any finding
	@out=$$(gofmt -l $$(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit: ## all Go tests (moto_server must be installed)
	$(GO) test -count=1 ./...

fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

test: lint unit fuzz ## what CI runs: lint, every test, a bounded fuzz of every fuzz target

clean: ## remove build output
	rm -rf $(DIST) cdk.out
