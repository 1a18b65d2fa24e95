package stacks_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/guardrail"
	"github.com/trailguard/trailguard/infra/snapshot"
	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/spec"
)

const orgID = "o-a1b2c3d4e5"

// orgContext is a complete organization context: two OUs (a JSON list, as in cdk.json) and two regions (a
// comma-separated string, as with -c), with every optional setting left to its default.
var orgContext = map[string]any{
	stacks.CtxOrgOrganizationID: orgID,
	stacks.CtxOrgTargetOUs:      []any{"ou-ab12-cdef3456", "r-ab12"},
	stacks.CtxOrgRegions:        "eu-west-1, us-east-1",
	// The guardrail (off by default) at its strictest, so that cfn-lint, cdk-nag and the escalation test see it.
	stacks.CtxOrgGuardrail:               "strict",
	stacks.CtxOrgGuardrailBreakGlassRole: "security/BreakGlass",
}

type orgSynth struct {
	synthesized
	org *stacks.Org
}

// buildOrg builds the app the way infra/main.go does when the organization settings are given.
func buildOrg(t *testing.T, context map[string]any) orgSynth {
	t.Helper()
	app := newApp(context)
	cfg, err := stacks.ConfigFromContext(app)
	require.NoError(t, err)
	require.NotNil(t, cfg.Org)
	p, e, err := stacks.Build(app, cfg)
	require.NoError(t, err)
	org, err := stacks.BuildOrg(app, cfg)
	require.NoError(t, err)
	return orgSynth{synthesized{app: app, provider: p, example: e}, org}
}

// orgDefaults is the organization app with orgContext, synthesized once for the tests that only read it (a
// failure here panics, failing every test that reads it).
var orgDefaults = sync.OnceValues(func() (orgSynth, map[string]tmpl) {
	app := newApp(orgContext)
	cfg, err := stacks.ConfigFromContext(app)
	if err != nil {
		panic(err)
	}
	p, e, err := stacks.Build(app, cfg)
	if err != nil {
		panic(err)
	}
	org, err := stacks.BuildOrg(app, cfg)
	if err != nil {
		panic(err)
	}
	s := orgSynth{synthesized{app: app, provider: p, example: e}, org}
	templates := map[string]tmpl{}
	for name, stack := range orgStacks(s) {
		raw, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
		if err != nil {
			panic(err)
		}
		var m tmpl
		if err := json.Unmarshal(raw, &m); err != nil {
			panic(err)
		}
		templates[name] = m
	}
	return s, templates
})

// orgStacks are the organization deployment's stacks by role: the StackSet stack, the member template, and one
// code bucket stack per region.
func orgStacks(s orgSynth) map[string]awscdk.Stack {
	out := map[string]awscdk.Stack{"org": s.org.Stack, "member": s.org.Member.Stack}
	for region, a := range s.org.Assets {
		out["assets-"+region] = a.Stack
	}
	return out
}

func orgTemplates(t *testing.T) (orgSynth, map[string]tmpl) {
	t.Helper()
	return orgDefaults()
}

func stackSetProps(t *testing.T, m tmpl) map[string]any {
	t.Helper()
	_, ss := m.one(t, "AWS::CloudFormation::StackSet", "StackSet")
	return props(ss)
}

func TestStackSetIsServiceManagedWithAutoDeploymentToTheContextsTargets(t *testing.T) {
	_, ts := orgTemplates(t)
	p := stackSetProps(t, ts["org"])
	assert.Equal(t, "SERVICE_MANAGED", p["PermissionModel"])
	assert.Equal(t, "SELF", p["CallAs"], "default: deployed from the management account")
	assert.Equal(t, "trailguard", p["StackSetName"])
	assert.Equal(t, map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": true}, p["AutoDeployment"])
	assert.Equal(t, map[string]any{"Active": true}, p["ManagedExecution"])
	assert.Equal(t, []any{"CAPABILITY_IAM"}, p["Capabilities"])
	assert.Equal(t, []any{map[string]any{
		"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{"ou-ab12-cdef3456", "r-ab12"}},
		"Regions":           []any{"eu-west-1", "us-east-1"},
	}}, p["StackInstancesGroup"])
	assert.Equal(t, map[string]any{
		"FailureTolerancePercentage": 10.0, "MaxConcurrentPercentage": 25.0,
		"ConcurrencyMode": "SOFT_FAILURE_TOLERANCE", "RegionConcurrencyType": "SEQUENTIAL",
		"RegionOrder": []any{"eu-west-1", "us-east-1"},
	}, p["OperationPreferences"])
	assert.NotContains(t, p, "TemplateBody")
	assert.Contains(t, jsonOf(t, p["TemplateURL"]), ".json", "the member template is uploaded as a file asset")
}

func TestStackSetSettingsComeFromContext(t *testing.T) {
	ctx := map[string]any{
		stacks.CtxOrgCallAs:            "DELEGATED_ADMIN",
		stacks.CtxOrgFailureTolerance:  "0",
		stacks.CtxOrgMaxConcurrent:     100,
		stacks.CtxOrgConcurrencyMode:   "STRICT_FAILURE_TOLERANCE",
		stacks.CtxOrgRegionConcurrency: "PARALLEL",
		stacks.CtxOrgStackSetName:      "audit-trailguard",
		stacks.CtxOrgStackName:         "audit-org",
		stacks.CtxOrgAssetBucketPrefix: "acme-trailguard-code",
		stacks.CtxOrgRegions:           []any{"ap-southeast-2"},
		stacks.CtxOrgTargetOUs:         "ou-zz99-abcdefgh",
		stacks.CtxSweepMinutes:         "5",
		stacks.CtxLogLevel:             "debug",
		stacks.CtxAllowedStacks:        "security-*,platform-trails",
	}
	for k, v := range orgContext {
		if _, ok := ctx[k]; !ok {
			ctx[k] = v
		}
	}
	s := buildOrg(t, ctx)
	assert.Equal(t, "audit-org", *s.org.Stack.StackName())
	require.Contains(t, s.org.Assets, "ap-southeast-2")
	assert.Equal(t, "audit-org-assets-ap-southeast-2", *s.org.Assets["ap-southeast-2"].Stack.StackName())
	assert.Equal(t, "ap-southeast-2", *s.org.Assets["ap-southeast-2"].Stack.Region())

	_, m := toTemplate(t, s.org.Stack)
	p := stackSetProps(t, m)
	assert.Equal(t, "DELEGATED_ADMIN", p["CallAs"])
	assert.Equal(t, "audit-trailguard", p["StackSetName"])
	assert.Equal(t, map[string]any{
		"FailureTolerancePercentage": 0.0, "MaxConcurrentPercentage": 100.0,
		"ConcurrencyMode": "STRICT_FAILURE_TOLERANCE", "RegionConcurrencyType": "PARALLEL",
		"RegionOrder": []any{"ap-southeast-2"},
	}, p["OperationPreferences"])
	assert.Equal(t, []any{map[string]any{
		"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{"ou-zz99-abcdefgh"}},
		"Regions":           []any{"ap-southeast-2"},
	}}, p["StackInstancesGroup"])
	values := parameterValues(t, p)
	assert.Equal(t, "acme-trailguard-code", values[stacks.ParamAssetBucketPrefix])
	assert.Equal(t, "5", values[stacks.ParamSweepMinutes])
	assert.Equal(t, "debug", values[stacks.ParamLogLevel])
	assert.Equal(t, "security-*,platform-trails", values[stacks.ParamAllowedStacks])

	_, am := toTemplate(t, s.org.Assets["ap-southeast-2"].Stack)
	_, bucket := am.one(t, "AWS::S3::Bucket", "Code")
	assert.Equal(t, "acme-trailguard-code-ap-southeast-2", props(bucket)["BucketName"])
}

// parameterValues are the StackSet's parameters by key.
func parameterValues(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, x := range p["Parameters"].([]any) {
		kv := x.(map[string]any)
		require.NotContains(t, out, kv["ParameterKey"], "parameter passed twice")
		out[kv["ParameterKey"].(string)] = kv["ParameterValue"]
	}
	return out
}

// The StackSet passes exactly the member template's parameters, and each value is what the member needs: the
// central topic and key of the StackSet stack, and the code keys the regions' deployments write.
func TestStackSetPassesEveryParameterOfTheMemberTemplate(t *testing.T) {
	s, ts := orgTemplates(t)
	member := ts["member"]
	declared := member["Parameters"].(map[string]any)
	var names []string
	for name := range declared {
		names = append(names, name)
	}
	sort.Strings(names)
	want := append([]string(nil), stacks.MemberParameters...)
	sort.Strings(want)
	assert.Equal(t, want, names, "the member template declares exactly MemberParameters")
	for name, d := range declared {
		assert.NotContains(t, d, "Default", "%s: every value comes from the StackSet", name)
	}

	values := parameterValues(t, stackSetProps(t, ts["org"]))
	assert.Len(t, values, len(stacks.MemberParameters))
	org := ts["org"]
	assert.Equal(t, ref(mustID(t, org, "AWS::SNS::Topic", "CentralNotifications")), values[stacks.ParamCentralTopicARN])
	assert.Equal(t, getAtt(mustID(t, org, "AWS::KMS::Key", "CentralKey"), "Arn"), values[stacks.ParamCentralTopicKeyARN])
	prefix := join("trailguard-org-assets-", account)
	assert.Equal(t, prefix, values[stacks.ParamAssetBucketPrefix], "default prefix: the deploying account's id")
	assert.Equal(t, "15", values[stacks.ParamSweepMinutes])
	assert.Equal(t, "info", values[stacks.ParamLogLevel])
	assert.Equal(t, "", values[stacks.ParamAllowedStacks])

	// Each region's bucket is PREFIX-REGION, and its deployment writes the keys the StackSet passes.
	keys := map[string]any{"provider": values[stacks.ParamProviderCodeKey], "remediator": values[stacks.ParamRemediatorCodeKey]}
	assert.NotEqual(t, keys["provider"], keys["remediator"])
	for region := range s.org.Assets {
		a := ts["assets-"+region]
		bucketID, bucket := a.one(t, "AWS::S3::Bucket", "Code")
		assert.Equal(t, map[string]any{"Fn::Join": []any{"-", []any{prefix, region}}}, props(bucket)["BucketName"])
		_, dep := a.one(t, "Custom::CDKBucketDeployment", "DeployCode")
		dp := props(dep)
		assert.Equal(t, ref(bucketID), dp["DestinationBucketName"])
		assert.Equal(t, false, dp["Extract"], "the zips are copied as they are")
		assert.Equal(t, false, dp["Prune"], "earlier builds stay for rollbacks")
		var written []any
		for _, k := range dp["SourceObjectKeys"].([]any) {
			written = append(written, dp["DestinationBucketKeyPrefix"].(string)+k.(string))
		}
		assert.ElementsMatch(t, []any{keys["provider"], keys["remediator"]}, written, region)
	}

	// The member reads the code from PREFIX-REGION of its own region, at the keys it is given.
	for fn, param := range map[string]string{"Provider": stacks.ParamProviderCodeKey, "Remediator": stacks.ParamRemediatorCodeKey} {
		_, f := member.one(t, "AWS::Lambda::Function", fn)
		assert.Equal(t, map[string]any{
			"S3Bucket": map[string]any{"Fn::Join": []any{"-", []any{ref(stacks.ParamAssetBucketPrefix), region}}},
			"S3Key":    ref(param),
		}, props(f)["Code"], fn)
	}
	// The zips the StackSet names are the ones in AssetDir: their keys are content hashes.
	assert.Equal(t, s.org.CodeKeys["provider"], keys["provider"])
	assert.Regexp(t, `^trailguard/lambda/[0-9a-f]{64}\.zip$`, keys["provider"])
}

// intrinsicRefs collects every name a template value refers to: Ref, Fn::GetAtt, ${...} in Fn::Sub, and
// whether it imports anything.
func intrinsicRefs(v any, refs map[string]bool, imports *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch k {
			case "Ref":
				refs[val.(string)] = true
			case "Fn::GetAtt":
				refs[val.([]any)[0].(string)] = true
			case "Fn::ImportValue":
				*imports = append(*imports, jsonOfAny(val))
			case "Fn::Sub":
				s := val
				if l, ok := val.([]any); ok {
					s = l[0]
				}
				for _, m := range regexp.MustCompile(`\$\{([^}!]+)\}`).FindAllStringSubmatch(s.(string), -1) {
					refs[strings.SplitN(m[1], ".", 2)[0]] = true
				}
			}
			intrinsicRefs(val, refs, imports)
		}
	case []any:
		for _, e := range x {
			intrinsicRefs(e, refs, imports)
		}
	}
}

func jsonOfAny(v any) string { b, _ := json.Marshal(v); return string(b) }

// The member stack must depend on nothing outside itself but its parameters: every reference names one of its
// parameters, resources or conditions, or a pseudo parameter; nothing is imported; no CDK bootstrap resource (asset
// bucket, bootstrap version parameter or rule) is named.
func TestMemberTemplateDependsOnNothingButItsParameters(t *testing.T) {
	_, ts := orgTemplates(t)
	m := ts["member"]
	refs, imports := map[string]bool{}, []string{}
	intrinsicRefs(map[string]any{"Resources": m["Resources"], "Outputs": m["Outputs"], "Conditions": m["Conditions"]}, refs, &imports)
	assert.Empty(t, imports)
	own := map[string]bool{}
	for _, section := range []string{"Parameters", "Resources", "Conditions"} {
		for id := range m[section].(map[string]any) {
			own[id] = true
		}
	}
	for r := range refs {
		assert.True(t, own[r] || strings.HasPrefix(r, "AWS::"), "%s is neither a parameter, a resource nor a pseudo parameter", r)
	}
	for _, p := range stacks.MemberParameters {
		assert.True(t, refs[p], "parameter %s is declared but unused", p)
	}
	assert.NotContains(t, m, "Rules", "no CheckBootstrapVersion rule")
	raw := jsonOf(t, m)
	for _, s := range []string{"cdk-hnb659fds", "BootstrapVersion", "/cdk-bootstrap/", "aws:asset:path"} {
		assert.NotContains(t, raw, s)
	}
	// Local topic and its alarms stay in the member; everything the functions publish goes to the central topic.
	assert.Contains(t, m["Outputs"], "ServiceToken")
}

// A member stack refuses assets outright, so a later change cannot bring back a dependency on a bootstrap bucket.
func TestMemberStackRefusesAssets(t *testing.T) {
	app := newApp(nil)
	stage := awscdk.NewStage(app, jsii.String("m"), nil)
	member, err := stacks.NewProviderStack(stage, "member", &stacks.ProviderStackProps{Member: true})
	require.NoError(t, err, "a member stack needs no function zips")
	require.NotNil(t, member.Params)
	defer func() {
		r := recover()
		require.NotNil(t, r, "adding an asset to a member stack must fail")
		assert.Contains(t, strings.ToLower(jsonOfAny(r)+errorText(r)), "asset")
	}()
	awss3assets.NewAsset(member.Stack, jsii.String("Code"), &awss3assets.AssetProps{Path: jsii.String(filepath.Join(distDir, "provider.zip"))})
}

func errorText(r any) string {
	if e, ok := r.(error); ok {
		return e.Error()
	}
	return ""
}

func TestMemberFunctionsPublishToTheCentralTopicWithMemberSettings(t *testing.T) {
	_, ts := orgTemplates(t)
	m := ts["member"]
	for _, fn := range []string{"Provider", "Remediator"} {
		_, f := m.one(t, "AWS::Lambda::Function", fn)
		env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
		assert.Equal(t, ref(stacks.ParamCentralTopicARN), env[lambdaenv.TopicARN], fn)
		assert.Equal(t, ref(stacks.ParamLogLevel), env[lambdaenv.LogLevel], fn)
		assert.Equal(t, ref(stacks.ParamAllowedStacks), env[lambdaenv.AllowedStacks], fn)

		_, pol := m.one(t, "AWS::IAM::Policy", fn+"RoleDefaultPolicy")
		bySid := map[string]map[string]any{}
		for _, s := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			if sid, ok := st["Sid"].(string); ok {
				bySid[sid] = st
			}
		}
		assert.Equal(t, "sns:Publish", bySid["Notify"]["Action"], fn)
		assert.Equal(t, ref(stacks.ParamCentralTopicARN), bySid["Notify"]["Resource"], fn)
		assert.Equal(t, ref(stacks.ParamCentralTopicKeyARN), bySid["NotifyKey"]["Resource"], fn)
	}
	_, sweep := m.one(t, "AWS::Events::Rule", "Sweep")
	assert.Equal(t, map[string]any{"Fn::If": []any{"SweepEveryMinute", "rate(1 minute)",
		join("rate(", ref(stacks.ParamSweepMinutes), " minutes)")}}, props(sweep)["ScheduleExpression"])
	assert.Equal(t, map[string]any{"Fn::Equals": []any{ref(stacks.ParamSweepMinutes), "1"}},
		m["Conditions"].(map[string]any)["SweepEveryMinute"])
	p := m["Parameters"].(map[string]any)[stacks.ParamSweepMinutes].(map[string]any)
	assert.Equal(t, "Number", p["Type"])
	assert.EqualValues(t, 1, p["MinValue"])
	assert.EqualValues(t, stacks.MaxSweepMinutes, p["MaxValue"])
}

// Removing trailguard (make destroy of the standalone stack, an account leaving the StackSet's targets, the
// StackSet deleted) must not stop a trail's delivery: the role CloudTrail delivers with, and its boundary, stay,
// also when CloudFormation replaces them.
func TestBothShapesKeepTheDeliveryRoleWhenDeleted(t *testing.T) {
	_, ts := orgTemplates(t)
	shapes := map[string]tmpl{"member": ts["member"], "standalone": mustTemplate(t)}
	for _, c := range []struct{ typ, prefix string }{{"AWS::IAM::Role", "DeliveryRole"}, {"AWS::IAM::ManagedPolicy", "DeliveryBoundary"}} {
		for shape, m := range shapes {
			_, r := m.one(t, c.typ, c.prefix)
			assert.Equal(t, "Retain", r["DeletionPolicy"], "%s %s", shape, c.prefix)
			assert.Equal(t, "Retain", r["UpdateReplacePolicy"], "%s %s", shape, c.prefix)
		}
	}
}

func mustTemplate(t *testing.T) tmpl { _, m := providerTemplate(t); return m }

func TestCodeBucketIsReadOnlyToTheOrganizationOverTLS(t *testing.T) {
	s, ts := orgTemplates(t)
	require.Len(t, s.org.Assets, 2)
	for region := range s.org.Assets {
		t.Run(region, func(t *testing.T) {
			a := ts["assets-"+region]
			bucketID, bucket := a.one(t, "AWS::S3::Bucket", "Code")
			assert.Equal(t, "Retain", bucket["DeletionPolicy"])
			bp := props(bucket)
			assert.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true,
				"RestrictPublicBuckets": true}, bp["PublicAccessBlockConfiguration"])
			assert.Equal(t, "AES256", bp["BucketEncryption"].(map[string]any)["ServerSideEncryptionConfiguration"].([]any)[0].(map[string]any)["ServerSideEncryptionByDefault"].(map[string]any)["SSEAlgorithm"],
				"SSE-S3: a KMS key would need a key policy for every reader")

			_, pol := a.one(t, "AWS::S3::BucketPolicy", "CodePolicy")
			stmts := props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any)
			require.Len(t, stmts, 2)
			arn := getAtt(bucketID, "Arn")
			assert.Equal(t, map[string]any{
				"Effect": "Deny", "Action": "s3:*", "Principal": map[string]any{"AWS": "*"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				"Resource":  []any{arn, join(arn, "/*")},
			}, stmts[0])
			assert.Equal(t, map[string]any{
				"Sid": "OrganizationReadsCode", "Effect": "Allow", "Action": "s3:GetObject",
				"Principal": map[string]any{"AWS": "*"},
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID}},
				"Resource":  join(arn, "/"+stacks.OrgCodePrefix+"*"),
			}, stmts[1])
		})
	}
}

func TestCentralTopicIsEncryptedAndOnlyTheOrganizationPublishes(t *testing.T) {
	_, ts := orgTemplates(t)
	m := ts["org"]
	keyID, key := m.one(t, "AWS::KMS::Key", "CentralKey")
	topicID, topic := m.one(t, "AWS::SNS::Topic", "CentralNotifications")
	assert.Equal(t, getAtt(keyID, "Arn"), props(topic)["KmsMasterKeyId"])
	assert.Equal(t, true, props(key)["EnableKeyRotation"])

	_, pol := m.one(t, "AWS::SNS::TopicPolicy", "CentralNotificationsPolicy")
	stmts := props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any)
	var allows []any
	for _, s := range stmts {
		st := s.(map[string]any)
		if st["Effect"] == "Deny" {
			assert.Equal(t, map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, st["Condition"])
			continue
		}
		allows = append(allows, st)
	}
	assert.Len(t, stmts, 2, "a TLS-only Deny and one Allow")
	assert.Equal(t, []any{map[string]any{
		"Sid": "OrganizationPublishes", "Effect": "Allow", "Action": "sns:Publish", "Principal": map[string]any{"AWS": "*"},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID}},
		"Resource":  ref(topicID),
	}}, allows)

	// The key lets the organization use it only through SNS in this region.
	var found bool
	for _, s := range props(key)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if jsonOf(t, st["Principal"]) != `{"AWS":"*"}` {
			continue
		}
		found = true
		assert.Equal(t, []any{"kms:GenerateDataKey*", "kms:Decrypt"}, st["Action"])
		assert.Equal(t, map[string]any{"StringEquals": map[string]any{
			"aws:PrincipalOrgID": orgID, "kms:ViaService": join("sns.", region, ".amazonaws.com"),
		}}, st["Condition"])
	}
	assert.True(t, found, "the key policy admits the organization's publishers")
}

// The escalation check walks every identity policy; it must find nothing in any organization template.
func TestNoOrganizationTemplateLetsAnythingEscalate(t *testing.T) {
	_, ts := orgTemplates(t)
	require.GreaterOrEqual(t, len(identityPolicies(ts["member"])), 5)
	assert.Empty(t, escalations(t, ts["member"], boundaryRef(t, ts["member"])), "member template")
	for name, m := range ts {
		if name != "member" {
			assert.Empty(t, escalations(t, m, nil), name)
		}
	}
}

func TestOrganizationStacksHaveNoUnsuppressedNagFinding(t *testing.T) {
	s, ts := orgTemplates(t)
	for name, stack := range orgStacks(s) {
		assert.Empty(t, nagFindings(stack), name)
	}
	var n int
	for name, m := range ts {
		for id, r := range m["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			if nag == nil {
				continue
			}
			for _, rule := range nag["rules_to_suppress"].([]any) {
				r := rule.(map[string]any)
				n++
				assert.GreaterOrEqual(t, len(r["reason"].(string)), 80, "%s %s %s: reason too short to review", name, id, r["id"])
			}
		}
	}
	assert.Positive(t, n)
}

// App-level aspects do not reach a nested stage, so the member stage carries its own cdk-nag check: its report,
// written when the stage is synthesized, lists the rules it evaluated, and none is non-compliant.
func TestCdkNagRanOnTheMemberTemplate(t *testing.T) {
	s, _ := orgTemplates(t)
	reports, err := filepath.Glob(filepath.Join(*s.app.Outdir(), "AwsSolutions-*member*-NagReport.csv"))
	require.NoError(t, err)
	require.Len(t, reports, 1)
	f, err := os.Open(reports[0])
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(rows), 10, "the report lists every rule evaluated")
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var suppressed int
	for _, r := range rows[1:] {
		assert.NotEqual(t, "Non-Compliant", r[col["Compliance"]], "%s on %s", r[col["Rule ID"]], r[col["Resource ID"]])
		if r[col["Compliance"]] == "Suppressed" {
			suppressed++
		}
	}
	assert.Positive(t, suppressed, "the provider's suppressions apply to the member too")
}

func TestMemberTemplateMatchesSnapshot(t *testing.T) {
	s, _ := orgTemplates(t)
	snapshot.Match(t, filepath.Join("testdata", "trailguard-member.template.json"), normalized(t, s.org.Member.Stack))
}

func TestOrganizationTemplatesPassCfnLint(t *testing.T) {
	s, _ := orgTemplates(t)
	cfnLint(t, "make cfn-lint-org", orgStacks(s))
}

func TestOrganizationSettingsAreCheckedNamingTheKey(t *testing.T) {
	with := func(k string, v any) map[string]any {
		ctx := map[string]any{}
		for key, val := range orgContext {
			ctx[key] = val
		}
		ctx[k] = v
		return ctx
	}
	cases := map[string]struct {
		ctx  map[string]any
		want string
	}{
		"organization id":          {with(stacks.CtxOrgOrganizationID, "org-1"), stacks.CtxOrgOrganizationID},
		"targets without an org":   {with(stacks.CtxOrgOrganizationID, ""), stacks.CtxOrgOrganizationID + " is empty"},
		"no OU":                    {with(stacks.CtxOrgTargetOUs, []any{}), stacks.CtxOrgTargetOUs + " is empty"},
		"an account id as OU":      {with(stacks.CtxOrgTargetOUs, "123456789012"), `"123456789012" is not an organizational unit`},
		"no region":                {with(stacks.CtxOrgRegions, ""), stacks.CtxOrgRegions + " is empty"},
		"bad region":               {with(stacks.CtxOrgRegions, "eu-west-1,Frankfurt"), `"Frankfurt" is not a region`},
		"region twice":             {with(stacks.CtxOrgRegions, "eu-west-1,eu-west-1"), "listed twice"},
		"callAs":                   {with(stacks.CtxOrgCallAs, "ADMIN"), stacks.CtxOrgCallAs},
		"failure tolerance > 100":  {with(stacks.CtxOrgFailureTolerance, 101), stacks.CtxOrgFailureTolerance},
		"failure tolerance text":   {with(stacks.CtxOrgFailureTolerance, "ten"), stacks.CtxOrgFailureTolerance},
		"no concurrency":           {with(stacks.CtxOrgMaxConcurrent, 0), stacks.CtxOrgMaxConcurrent},
		"concurrency mode":         {with(stacks.CtxOrgConcurrencyMode, "FAST"), stacks.CtxOrgConcurrencyMode},
		"region concurrency":       {with(stacks.CtxOrgRegionConcurrency, "ALL"), stacks.CtxOrgRegionConcurrency},
		"upper-case bucket prefix": {with(stacks.CtxOrgAssetBucketPrefix, "Acme"), stacks.CtxOrgAssetBucketPrefix},
		"long bucket prefix":       {with(stacks.CtxOrgAssetBucketPrefix, strings.Repeat("a", 48)), stacks.CtxOrgAssetBucketPrefix},
		"stack set name":           {with(stacks.CtxOrgStackSetName, "trail guard"), stacks.CtxOrgStackSetName},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := stacks.ConfigFromContext(newApp(c.ctx))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// Without an organization id the app builds no organization stacks, and BuildOrg says what is missing.
func TestNoOrganizationSettingsNoOrganizationStacks(t *testing.T) {
	app := newApp(nil)
	cfg, err := stacks.ConfigFromContext(app)
	require.NoError(t, err)
	assert.Nil(t, cfg.Org)
	_, err = stacks.BuildOrg(app, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), stacks.CtxOrgOrganizationID)
}

// cdk.json declares every organization key, and its defaults leave the organization deployment out.
func TestCdkJSONDeclaresTheOrganizationKeysWithoutEnablingThem(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	require.NoError(t, err)
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	require.NoError(t, json.Unmarshal(raw, &cdk))
	for _, k := range []string{stacks.CtxOrgOrganizationID, stacks.CtxOrgTargetOUs, stacks.CtxOrgRegions, stacks.CtxOrgCallAs,
		stacks.CtxOrgFailureTolerance, stacks.CtxOrgMaxConcurrent, stacks.CtxOrgConcurrencyMode, stacks.CtxOrgRegionConcurrency,
		stacks.CtxOrgStackName, stacks.CtxOrgStackSetName, stacks.CtxOrgAssetBucketPrefix} {
		assert.Contains(t, cdk.Context, k)
	}
	ctx := map[string]any{}
	for k, v := range cdk.Context {
		if strings.HasPrefix(k, "trailguard:") && k != stacks.CtxAssetDir {
			ctx[k] = v
		}
	}
	cfg, err := stacks.ConfigFromContext(newApp(ctx))
	require.NoError(t, err)
	assert.Nil(t, cfg.Org)
}

// The member template's AllowedPattern for the allow-list restates spec.ParseAllowedStacks; both must agree on
// every entry.
func TestAllowedStacksPatternAgreesWithTheProvider(t *testing.T) {
	re := regexp.MustCompile(stacks.AllowedStacksPattern)
	for _, entry := range []string{"security-*", "platform-trails", "a", "A1-b2", "*", "-x", "1abc", "a_b", "a*b",
		"a**", "audit-", strings.Repeat("a", 128), strings.Repeat("a", 129), strings.Repeat("a", 128) + "*"} {
		_, err := spec.ParseAllowedStacks(entry)
		assert.Equal(t, err == nil, re.MatchString(entry), "%q: provider says %v", entry, err)
	}
	assert.True(t, re.MatchString(""), "an empty allow-list")
	assert.True(t, re.MatchString("security-*,platform-trails"))
	assert.False(t, re.MatchString("security-*,"), "the StackSet passes the canonical comma-joined list")
}

// The guardrail SCP is in the organization template as infra/guardrail writes it (its test evaluates it), attached
// to the target OUs, after the StackSet; it is off unless the context turns it on.
func TestTheGuardrailIsInTheOrganizationTemplateAttachedToTheTargets(t *testing.T) {
	_, ts := orgTemplates(t)
	id, res := ts["org"].one(t, "AWS::Organizations::Policy", "Guardrail")
	p := props(res)
	assert.Equal(t, "SERVICE_CONTROL_POLICY", p["Type"])
	assert.Equal(t, []any{"ou-ab12-cdef3456", "r-ab12"}, p["TargetIds"])
	want := guardrail.Policy(guardrail.Settings{Level: guardrail.Strict, BreakGlassRole: "security/BreakGlass",
		LogGroupPrefixes: []string{guardrail.DefaultLogGroupPrefix}})
	assert.JSONEq(t, jsonOf(t, want), jsonOf(t, p["Content"]))
	stackSet, _ := ts["org"].one(t, "AWS::CloudFormation::StackSet", "StackSet")
	assert.Contains(t, res["DependsOn"], stackSet, "the member stacks (and their roles under /trailguard/) first")
	require.NotEmpty(t, id)

	ctx := map[string]any{}
	for k, v := range orgContext {
		if k != stacks.CtxOrgGuardrail {
			ctx[k] = v
		}
	}
	cfg, err := stacks.ConfigFromContext(newApp(ctx))
	require.NoError(t, err)
	assert.Equal(t, guardrail.Off, cfg.Org.Guardrail.Level, "off by default")
	assert.Nil(t, guardrail.Policy(cfg.Org.Guardrail))
	for key, bad := range map[string]any{stacks.CtxOrgGuardrail: "on", stacks.CtxOrgGuardrailBreakGlassRole: "*",
		stacks.CtxOrgGuardrailLogGroupPrefixes: "aws-*"} {
		bad := map[string]any{key: bad}
		for k, v := range orgContext {
			if _, set := bad[k]; !set {
				bad[k] = v
			}
		}
		_, err := stacks.ConfigFromContext(newApp(bad))
		assert.ErrorContains(t, err, stacks.CtxOrgGuardrail, key)
	}

	// A policy AWS Organizations would refuse is refused at synth, naming the settings that make it large.
	large := map[string]any{}
	for k, v := range orgContext {
		large[k] = v
	}
	var prefixes []any
	for i := range 60 {
		prefixes = append(prefixes, fmt.Sprintf("/team-%02d/audit-logs-", i))
	}
	large[stacks.CtxOrgGuardrailLogGroupPrefixes] = prefixes
	_, err = stacks.ConfigFromContext(newApp(large))
	assert.ErrorIs(t, err, guardrail.ErrTooLarge)
	assert.ErrorContains(t, err, stacks.CtxOrgGuardrailLogGroupPrefixes)
	assert.ErrorContains(t, err, stacks.CtxOrgGuardrailTrailPrefixes)
}

// trailguard's functions carry guardrail.FunctionTag in every template (the guardrail denies others changing a
// function so tagged), and the guardrail policy carries guardrail.PolicyTag.
func TestTrailguardsFunctionsAndTheGuardrailCarryTheGuardrailsTags(t *testing.T) {
	_, ts := orgTemplates(t)
	for _, name := range []string{"member"} {
		n := 0
		for id, res := range ts[name].resources("AWS::Lambda::Function") {
			tags := map[string]any{}
			if list, ok := props(res)["Tags"].([]any); ok {
				for _, tag := range list {
					kv := tag.(map[string]any)
					tags[kv["Key"].(string)] = kv["Value"]
				}
			}
			if strings.HasPrefix(id, "Provider") || strings.HasPrefix(id, "Remediator") {
				assert.Contains(t, tags, guardrail.FunctionTag, "%s %s", name, id)
				n++
			}
		}
		assert.Equal(t, 2, n, "%s: both functions", name)
	}
	_, res := ts["org"].one(t, "AWS::Organizations::Policy", "Guardrail")
	assert.Contains(t, props(res)["Tags"], map[string]any{"Key": guardrail.PolicyTag, "Value": guardrail.Strict})
}
