# CDK targets for trailguard. The Makefile includes this file:  include infra/cdk.mk
# The CDK CLI is the one pinned in package.json/package-lock.json (aws-cdk 2.1148.1), installed by `npm ci`.
# Notices and telemetry are off (cdk.json sets "cli-telemetry": false; the variables below cover the rest).

CDK_BIN := node_modules/.bin/cdk
CDK_OUT ?= cdk.out
# STACKS: which stacks diff/deploy/destroy act on. The default is the provider stack only; the example consumer
# stack creates a real trail and bucket: `make deploy STACKS=--all` (it imports the provider's export, so the
# provider is deployed first).
STACKS ?= trailguard
CDK_ARGS ?=
# The CDK CLI runs the Go app, whose jsii runtime unpacks itself into TMPDIR: into the checkout, so that a Ctrl-C
# (which skips jsii's cleanup) leaves nothing outside it. cmd/cdkrun runs the CLI and shows its output without the
# noise a person cannot act on (it says which), and one line instead of the CLI's error when there are no AWS
# credentials; prompts are shown as they come.
CDK_TMP := $(CURDIR)/.cache/cdk-tmp
CDKRUN := $(DIST)/bin/cdkrun
CDK_PREP := $(GO_BUILD) -o $(CDKRUN) ./cmd/cdkrun && mkdir -p $(CDK_TMP) &&
CDK_ENV := TMPDIR=$(CDK_TMP) CDK_DISABLE_NOTICES=true CDK_DISABLE_CLI_TELEMETRY=true
CDK := $(CDK_PREP) $(CDK_ENV) $(CDKRUN) -- $(CDK_BIN)
CDK_FLAGS := --no-notices --output $(CDK_OUT) $(CDK_ARGS)

.PHONY: synth bootstrap diff deploy destroy cfn-lint

$(CDK_BIN): package.json package-lock.json
	@npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
	@touch $@

# synth is skipped when its inputs are those of the templates in CDK_OUT: the app's compiled code and every package
# it imports (by content hash), the function zips, cdk.json, cdk.context.json, the CLI's lock file, CDK_ARGS, the
# toolchain; and the templates are still the ones that synthesis wrote (their hash is in the stamp too).
SYNTH_STAMP := $(CDK_OUT)/.trailguard-synth
synth: $(CDK_BIN) build ## synthesize every stack into cdk.out (no AWS credentials needed)
	@key=$$( { echo "$(CDK_ARGS) $(GOTOOLCHAIN)"; $(GO) list -deps -export -f '{{.Export}}' ./infra; \
	  { cat $(DIST)/*.zip cdk.json package-lock.json cdk.context.json 2>/dev/null || true; } | sha256sum; } | sha256sum | cut -c1-32); \
	templates() { cat $(CDK_OUT)/*.template.json 2>/dev/null | sha256sum | cut -c1-32; }; \
	if [ "$$(cat $(SYNTH_STAMP) 2>/dev/null)" = "$$key $$(templates)" ]; then \
	  echo "synthesized $$(ls $(CDK_OUT)/*.template.json | tr '\n' ' ')(inputs unchanged)"; exit 0; fi; \
	rm -f $(SYNTH_STAMP); \
	$(CDK_PREP) $(CDK_ENV) $(CDKRUN) -drop-empty -- $(CDK_BIN) synth --quiet $(CDK_FLAGS); \
	echo "$$key $$(templates)" > $(SYNTH_STAMP); \
	echo "synthesized $$(ls $(CDK_OUT)/*.template.json | tr '\n' ' ')"

# cdk bootstrap is idempotent: it names the environment (aws://ACCOUNT/REGION) and says when nothing changed.
bootstrap: $(CDK_BIN) build ## CDK-bootstrap the account and region of your credentials (once; safe to repeat)
	@echo "cdk bootstrap: the account and region of your AWS credentials (AWS_PROFILE, AWS_REGION)"
	@$(CDK) bootstrap $(CDK_FLAGS)

diff: $(CDK_BIN) build ## compare STACKS (default: trailguard) with what is deployed
	@echo "cdk diff $(STACKS)"
	@$(CDK) diff $(STACKS) $(CDK_FLAGS)

deploy: $(CDK_BIN) build ## deploy STACKS (default: trailguard); IAM changes ask for approval
	@echo "cdk deploy $(STACKS) (needs make bootstrap once per account and region)"
	@$(CDK) deploy $(STACKS) --require-approval broadening $(CDK_FLAGS)

destroy: $(CDK_BIN) ## destroy STACKS (table, key, log groups, delivery role stay: docs/rollback.md)
	@echo "cdk destroy $(STACKS)"
	@$(CDK) destroy $(STACKS) $(CDK_FLAGS)

# cfn-lint on every synthesized template. cfn-lint's exit code is a bit mask (2 errors, 4 warnings, 8 info): errors
# fail the target, other warnings are printed. W3005 (a DependsOn next to a GetAtt that already orders the two) is
# ignored: CDK adds that DependsOn on every function's role by design, and it changes nothing in the deployment.
# Without cfn-lint the target fails, unless SKIP_CFN_LINT=1 (outside CI). Templates that passed with no finding at all
# (same cfn-lint version) are not linted again.
CFN_LINT_IGNORE := W3005
cfn-lint: synth ## lint cdk.out/*.template.json with cfn-lint: fail on any error
	@if ! command -v cfn-lint >/dev/null 2>&1; then \
	  if [ "$${SKIP_CFN_LINT:-}" = 1 ] && [ -z "$${CI:-}" ]; then echo "cfn-lint: not installed, SKIPPED (SKIP_CFN_LINT=1)"; exit 0; fi; \
	  echo "cfn-lint is missing: pip install cfn-lint, or set SKIP_CFN_LINT=1 to skip the template lint"; exit 1; fi; \
	key=$$( { cfn-lint --version; echo $(CFN_LINT_IGNORE); cat $(CDK_OUT)/*.template.json; } | sha256sum | cut -c1-32); \
	if [ -f .cache/cfn-lint/$$key ]; then \
	  echo "cfn-lint $$(cfn-lint --version | cut -d' ' -f2): no errors in $$(ls $(CDK_OUT)/*.template.json | wc -l) templates (unchanged since linted)"; exit 0; fi; \
	rc=0; cfn-lint --ignore-checks $(CFN_LINT_IGNORE) -- $(CDK_OUT)/*.template.json || rc=$$?; \
	if [ $$((rc & 2)) -ne 0 ] || [ $$rc -eq 1 ] || [ $$rc -ge 32 ]; then echo "cfn-lint: errors (exit $$rc)"; exit 1; fi; \
	if [ $$rc -eq 0 ]; then mkdir -p .cache/cfn-lint; touch .cache/cfn-lint/$$key; fi; \
	echo "cfn-lint $$(cfn-lint --version | cut -d' ' -f2): no errors in $$(ls $(CDK_OUT)/*.template.json | wc -l) templates ($(CFN_LINT_IGNORE) ignored)"
include infra/org.mk
