# Organization deployment targets (docs/organizations.md). infra/cdk.mk includes this file and defines CDK, CDK_BIN,
# CDK_FLAGS and CDK_OUT. The settings are CDK context (cdk.json, or CDK_ARGS='-c trailguard:org:...=...'):
# trailguard:org:organizationId, :targetOUs and :regions are required; without them the app has no org stacks.
# Run from the management account, or from a delegated administrator with trailguard:org:callAs=DELEGATED_ADMIN.

# ORG_STACK is the StackSet stack (context trailguard:org:stackName); its code bucket stacks, ORG_STACK-assets-REGION,
# are its dependencies, so `cdk deploy $(ORG_STACK)` deploys them first.
ORG_STACK ?= trailguard-org

.PHONY: bootstrap-org synth-org diff-org deploy-org destroy-org cfn-lint-org

# Fails, naming the keys, when the organization settings are missing (the app then builds no org stacks).
define org-check
	@$(CDK) list $(CDK_FLAGS) 2>/dev/null | grep -qx '$(ORG_STACK)' || { \
	  echo "no stack $(ORG_STACK): set the context trailguard:org:organizationId, trailguard:org:targetOUs and" \
	       "trailguard:org:regions (cdk.json or CDK_ARGS='-c key=value'); see docs/organizations.md"; exit 1; }
endef

bootstrap-org: $(CDK_BIN) build ## CDK-bootstrap the deploying account in every region the org stacks use (once)
	$(org-check)
	@echo "cdk bootstrap: the deploying account, in every region the org stacks use"
	@$(CDK) bootstrap $(CDK_FLAGS)

synth-org: $(CDK_BIN) build ## synthesize the org stacks and the member template (no credentials needed)
	$(org-check)
	@echo "cdk synth $(ORG_STACK)"
	@$(CDK) synth $(ORG_STACK) --quiet $(CDK_FLAGS)
	@ls $(CDK_OUT)/$(ORG_STACK)*.template.json $(CDK_OUT)/assembly-$(ORG_STACK)-member/*.template.json

diff-org: $(CDK_BIN) build ## compare the org stacks with what is deployed
	$(org-check)
	@echo "cdk diff $(ORG_STACK)"
	@$(CDK) diff $(ORG_STACK) '$(ORG_STACK)-assets-*' $(CDK_FLAGS)

deploy-org: $(CDK_BIN) build ## deploy code buckets, central topic and StackSet; StackSets rolls out to every account
	$(org-check)
	@echo "cdk deploy $(ORG_STACK)"
	@$(CDK) deploy $(ORG_STACK) --require-approval broadening $(CDK_FLAGS)

destroy-org: $(CDK_BIN) ## delete the StackSet (every stack instance; delivery roles, tables, keys stay) and topic
	$(org-check)
	@echo "cdk destroy $(ORG_STACK)"
	@$(CDK) destroy $(ORG_STACK) $(CDK_FLAGS)
	@echo "The code bucket stacks $(ORG_STACK)-assets-* are kept (their buckets are retained anyway):" \
	      "make destroy STACKS='$(ORG_STACK)-assets-*' removes the stacks."

# cfn-lint on the org templates, member template included; same exit-code rules as cfn-lint in infra/cdk.mk.
cfn-lint-org: synth-org ## lint the org templates and the member template with cfn-lint: fail on any error
	@if ! command -v cfn-lint >/dev/null 2>&1; then \
	  echo "cfn-lint: not installed, skipped"; [ "$${CFN_LINT_REQUIRED:-0}" != 1 ]; exit $$?; fi; \
	files="$$(ls $(CDK_OUT)/$(ORG_STACK)*.template.json $(CDK_OUT)/assembly-$(ORG_STACK)-member/*.template.json)"; \
	rc=0; cfn-lint $$files || rc=$$?; \
	if [ $$((rc & 2)) -ne 0 ] || [ $$rc -eq 1 ] || [ $$rc -ge 32 ]; then echo "cfn-lint: errors (exit $$rc)"; exit 1; fi; \
	echo "cfn-lint: no errors in $$(echo $$files | wc -w) templates"
