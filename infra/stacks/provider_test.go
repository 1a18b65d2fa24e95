package stacks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
	"github.com/trailguard/trailguard/infra/trailguard"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/trigger"
)

var providerTemplate = func() func(t *testing.T) (assertions.Template, tmpl) {
	var at assertions.Template
	var m tmpl
	return func(t *testing.T) (assertions.Template, tmpl) {
		if at == nil {
			at, m = toTemplate(t, defaults().provider.Stack)
		}
		return at, m
	}
}()

// ref and arn build the CloudFormation intrinsics the stack is expected to render.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}
func join(parts ...any) map[string]any { return map[string]any{"Fn::Join": []any{"", parts}} }

var (
	partition = ref("AWS::Partition")
	region    = ref("AWS::Region")
	account   = ref("AWS::AccountId")
)

func TestFunctionsRunGoOnArm64WithJSONLogsInTheirOwnLogGroups(t *testing.T) {
	at, m := providerTemplate(t)
	at.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(2))
	at.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(2))
	timeouts := map[string]float64{"Provider": stacks.ProviderTimeout.Seconds(), "Remediator": stacks.RemediatorTimeout.Seconds()}
	for name, timeout := range timeouts {
		t.Run(name, func(t *testing.T) {
			_, fn := m.one(t, "AWS::Lambda::Function", name)
			p := props(fn)
			assert.Equal(t, "provided.al2023", p["Runtime"])
			assert.Equal(t, []any{"arm64"}, p["Architectures"])
			assert.Equal(t, "bootstrap", p["Handler"])
			assert.EqualValues(t, lambdaenv.MemoryMB, p["MemorySize"])
			assert.EqualValues(t, timeout, p["Timeout"])
			logsID, lg := m.one(t, "AWS::Logs::LogGroup", name+"Logs")
			assert.EqualValues(t, 365, props(lg)["RetentionInDays"])
			assert.Equal(t, "Retain", lg["DeletionPolicy"])
			assert.Equal(t, map[string]any{"LogFormat": "JSON", "LogGroup": ref(logsID)}, p["LoggingConfig"])

			roleID, _ := m.one(t, "AWS::IAM::Role", name+"Role")
			assert.Equal(t, getAtt(roleID, "Arn"), p["Role"])

			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			assert.Equal(t, ref(mustID(t, m, "AWS::DynamoDB::Table", "Registry")), env[lambdaenv.RegistryTable])
			assert.Equal(t, ref(mustID(t, m, "AWS::SNS::Topic", "Notifications")), env[lambdaenv.TopicARN],
				"the provider notifies too: when it keeps a log group it was asked to delete")
			assert.Equal(t, getAtt(mustID(t, m, "AWS::IAM::Role", "DeliveryRole"), "Arn"), env[lambdaenv.DeliveryRoleARN])
			assert.Equal(t, ref(mustID(t, m, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")), env[lambdaenv.DeliveryBoundaryARN])
			assert.Equal(t, "", env[lambdaenv.AllowedStacks], "the allow-list is empty by default")
			assert.Equal(t, "info", env[lambdaenv.LogLevel])
			assert.NotContains(t, env, lambdaenv.LocalRun, "the loopback ResponseURL switch is for local runs only")
		})
	}
	assert.Less(t, stacks.ProviderTimeout, trailguard.DefaultServiceTimeout,
		"the provider must time out (and answer FAILED) before CloudFormation's ServiceTimeout")
	_, fn := m.one(t, "AWS::Lambda::Function", "Remediator")
	env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
	// The remediator parses them back into the same defaults it would use without them.
	assert.Equal(t, "24h0m0s", env[lambdaenv.DeliveryMaxAge])
	assert.Equal(t, "5", env[lambdaenv.RepairLimit])
	assert.Equal(t, "1h0m0s", env[lambdaenv.RepairWindow])
	_, pfn := m.one(t, "AWS::Lambda::Function", "Provider")
	assert.NotContains(t, props(pfn)["Environment"].(map[string]any)["Variables"], lambdaenv.RepairLimit)
}

func TestRemediatorFailuresGoToAnEncryptedQueue(t *testing.T) {
	at, m := providerTemplate(t)
	_, cfg := m.one(t, "AWS::Lambda::EventInvokeConfig", "RemediatorEventInvokeConfig")
	fnID, _ := m.one(t, "AWS::Lambda::Function", "Remediator")
	queueID, q := m.one(t, "AWS::SQS::Queue", "RemediatorFailures")
	p := props(cfg)
	assert.Equal(t, ref(fnID), p["FunctionName"])
	assert.EqualValues(t, stacks.RemediatorRetryAttempts, p["MaximumRetryAttempts"])
	assert.EqualValues(t, stacks.RemediatorMaxEventAge.Seconds(), p["MaximumEventAgeInSeconds"])
	assert.Equal(t, map[string]any{"OnFailure": map[string]any{"Destination": getAtt(queueID, "Arn")}}, p["DestinationConfig"])
	// By default SQS-managed keys (free), and no customer managed key in the stack (issue 24: $1 of $1.31).
	assert.Equal(t, true, props(q)["SqsManagedSseEnabled"])
	assert.NotContains(t, props(q), "KmsMasterKeyId")
	at.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(0))

	_, withKey := toTemplate(t, build(t, map[string]any{stacks.CtxCustomerManagedKey: "true"}).provider.Stack)
	keyID, _ := withKey.one(t, "AWS::KMS::Key", "Key")
	_, q = withKey.one(t, "AWS::SQS::Queue", "RemediatorFailures")
	assert.Equal(t, getAtt(keyID, "Arn"), props(q)["KmsMasterKeyId"])

	_, qp := m.one(t, "AWS::SQS::QueuePolicy", "RemediatorFailuresPolicy")
	assertDeniesInsecureTransport(t, props(qp)["PolicyDocument"], "sqs:*")
}

func assertDeniesInsecureTransport(t *testing.T, doc any, action string) {
	t.Helper()
	for _, s := range doc.(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if st["Effect"] == "Deny" && st["Action"] == action {
			assert.Equal(t, map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, st["Condition"])
			return
		}
	}
	t.Errorf("no Deny of %s without TLS in %s", action, jsonOf(t, doc))
}

// The registry is a trust root: the remediator enforces what its records say. Its resource policy denies every
// item write to every principal but the two function roles, administrators included.
func TestOnlyTheFunctionsWriteTheRegistry(t *testing.T) {
	_, m := providerTemplate(t)
	tableID, table := m.one(t, "AWS::DynamoDB::Table", "Registry")
	doc := props(table)["ResourcePolicy"].(map[string]any)["PolicyDocument"].(map[string]any)
	assert.Equal(t, []any{map[string]any{
		"Sid":       "OnlyTrailguardFunctionsWrite",
		"Effect":    "Deny",
		"Principal": map[string]any{"AWS": "*"},
		"Action": []any{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
			"dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"},
		"Resource": "*", // the table itself: its own ARN would be a circular reference
		"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": []any{
			getAtt(mustID(t, m, "AWS::IAM::Role", "ProviderRole"), "Arn"),
			getAtt(mustID(t, m, "AWS::IAM::Role", "RemediatorRole"), "Arn"),
		}}},
	}}, doc["Statement"])
	assert.NotContains(t, jsonOf(t, doc), tableID, "a table's resource policy cannot reference the table")

	// Whatever write a function role is granted on the table is one the resource policy covers, so a later grant
	// (UpdateItem, BatchWriteItem) cannot open a write path that the policy leaves to identity policies alone.
	denied := strs(doc["Statement"].([]any)[0].(map[string]any)["Action"])
	for _, fn := range []string{"Provider", "Remediator"} {
		st := statements(t, m, mustID(t, m, "AWS::IAM::Role", fn+"Role"))["Registry"]
		for _, a := range strs(st["Action"]) {
			if a != "dynamodb:GetItem" && a != "dynamodb:Scan" && a != "dynamodb:Query" && a != "dynamodb:BatchGetItem" {
				assert.Contains(t, denied, a, "%s writes the registry with %s, which the resource policy does not cover", fn, a)
			}
		}
	}
}

func TestRegistryTableIsOnDemandWithPITRAndRetained(t *testing.T) {
	at, m := providerTemplate(t)
	at.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
	_, table := m.one(t, "AWS::DynamoDB::Table", "Registry")
	p := props(table)
	assert.Equal(t, "PAY_PER_REQUEST", p["BillingMode"])
	assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, p["PointInTimeRecoverySpecification"])
	assert.Equal(t, true, p["DeletionProtectionEnabled"])
	assert.Equal(t, []any{map[string]any{"AttributeName": "TrailArn", "KeyType": "HASH"}}, p["KeySchema"])
	assert.NotContains(t, p, "TableName", "a generated name cannot collide across regions")
	assert.Equal(t, "Retain", table["DeletionPolicy"])
	assert.Equal(t, "Retain", table["UpdateReplacePolicy"])
}

// TestTopicIsTLSOnlyAndEncryptedWithTheCustomerManagedKeyWhenAsked: the topic refuses plain HTTP always; it is
// encrypted with the stack's key only with trailguard:customerManagedKey (docs/security.md, "Cost cuts").
func TestTopicIsTLSOnlyAndEncryptedWithTheCustomerManagedKeyWhenAsked(t *testing.T) {
	at, m := providerTemplate(t)
	topicID, topic := m.one(t, "AWS::SNS::Topic", "Notifications")
	assert.NotContains(t, props(topic), "KmsMasterKeyId")
	_, tp := m.one(t, "AWS::SNS::TopicPolicy", "NotificationsPolicy")
	assert.Equal(t, []any{ref(topicID)}, props(tp)["Topics"])
	assertDeniesInsecureTransport(t, props(tp)["PolicyDocument"], "sns:Publish")
	at.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))

	_, m = toTemplate(t, build(t, map[string]any{stacks.CtxCustomerManagedKey: "true", stacks.CtxExampleStackName: ""}).provider.Stack)
	_, topic = m.one(t, "AWS::SNS::Topic", "Notifications")
	keyID, key := m.one(t, "AWS::KMS::Key", "Key")
	assert.Equal(t, getAtt(keyID, "Arn"), props(topic)["KmsMasterKeyId"])
	assert.Equal(t, true, props(key)["EnableKeyRotation"])

	// CloudWatch alarms publish to the encrypted topic only if the key policy lets the service use the key.
	var found bool
	for _, s := range props(key)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if st["Sid"] == "AlarmsPublishToEncryptedTopic" {
			found = true
			assert.Equal(t, map[string]any{"Service": "cloudwatch.amazonaws.com"}, st["Principal"])
			assert.Equal(t, []any{"kms:Decrypt", "kms:GenerateDataKey*"}, st["Action"])
			assert.Equal(t, map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}, st["Condition"])
		}
	}
	assert.True(t, found, "key policy lacks the CloudWatch statement")
}

func TestEmailSubscriptionFromContext(t *testing.T) {
	s := build(t, map[string]any{stacks.CtxNotificationEmail: "oncall@example.com", stacks.CtxExampleStackName: ""})
	assert.Nil(t, s.example, "an empty example stack name leaves the example out")
	at, m := toTemplate(t, s.provider.Stack)
	topicID, _ := m.one(t, "AWS::SNS::Topic", "Notifications")
	at.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{
		"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": ref(topicID),
	})
}

func TestAlarmsNotifyTheTopic(t *testing.T) {
	_, m := providerTemplate(t)
	topicID, _ := m.one(t, "AWS::SNS::Topic", "Notifications")
	queueID, _ := m.one(t, "AWS::SQS::Queue", "RemediatorFailures")
	alarms := m.resources("AWS::CloudWatch::Alarm")
	require.Len(t, alarms, 3)
	want := map[string]struct {
		metric, namespace string
		dimension         map[string]any
	}{
		"FailureQueueAlarm":     {"ApproximateNumberOfMessagesVisible", "AWS/SQS", map[string]any{"Name": "QueueName", "Value": getAtt(queueID, "QueueName")}},
		"ProviderErrorsAlarm":   {"Errors", "AWS/Lambda", map[string]any{"Name": "FunctionName", "Value": ref(mustID(t, m, "AWS::Lambda::Function", "Provider"))}},
		"RemediatorErrorsAlarm": {"Errors", "AWS/Lambda", map[string]any{"Name": "FunctionName", "Value": ref(mustID(t, m, "AWS::Lambda::Function", "Remediator"))}},
	}
	for name, w := range want {
		_, a := m.one(t, "AWS::CloudWatch::Alarm", name)
		p := props(a)
		assert.Equal(t, w.metric, p["MetricName"], name)
		assert.Equal(t, w.namespace, p["Namespace"], name)
		assert.Equal(t, []any{w.dimension}, p["Dimensions"], name)
		assert.EqualValues(t, 1, p["Threshold"], name)
		assert.Equal(t, "GreaterThanOrEqualToThreshold", p["ComparisonOperator"], name)
		assert.Equal(t, "notBreaching", p["TreatMissingData"], name)
		assert.Equal(t, []any{ref(topicID)}, p["AlarmActions"], name)
	}
}

func mustID(t *testing.T, m tmpl, typ, prefix string) string {
	id, _ := m.one(t, typ, prefix)
	return id
}

func TestAPICallRulesMatchOnlySuccessfulCallsByOthers(t *testing.T) {
	_, m := providerTemplate(t)
	fnID := mustID(t, m, "AWS::Lambda::Function", "Remediator")
	roleID := mustID(t, m, "AWS::IAM::Role", "RemediatorRole")
	self := join("arn:", partition, ":sts::", account, ":assumed-role/", ref(roleID), "/*")
	cases := []struct {
		rule, source, eventSource string
		events                    []string
		condition                 string
	}{
		{"CloudTrailChanges", "aws.cloudtrail", "cloudtrail.amazonaws.com", trigger.EventNames("cloudtrail.amazonaws.com"), ""},
		{"LogsChanges", "aws.logs", "logs.amazonaws.com", trigger.EventNames("logs.amazonaws.com"), ""},
		{"IamChanges", "aws.iam", "iam.amazonaws.com", trigger.EventNames("iam.amazonaws.com"), "InUsEast1"},
		{"AlarmChanges", "aws.cloudwatch", "monitoring.amazonaws.com", trigger.EventNames("monitoring.amazonaws.com"), ""},
		{"TopicChanges", "aws.sns", "sns.amazonaws.com", trigger.EventNames("sns.amazonaws.com"), ""},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			id, rule := m.one(t, "AWS::Events::Rule", c.rule)
			events := make([]any, len(c.events))
			for i, e := range c.events {
				events[i] = e
			}
			assert.Equal(t, map[string]any{
				"source":      []any{c.source},
				"detail-type": []any{"AWS API Call via CloudTrail"},
				"detail": map[string]any{
					"eventSource": []any{c.eventSource},
					"eventName":   events,
					"errorCode":   []any{map[string]any{"exists": false}},
					"$or": []any{
						map[string]any{"userIdentity": map[string]any{"arn": []any{map[string]any{"exists": false}}}},
						map[string]any{"userIdentity": map[string]any{"arn": []any{map[string]any{"anything-but": map[string]any{"wildcard": self}}}}},
					},
				},
			}, props(rule)["EventPattern"])
			assertTargetsRemediator(t, props(rule), fnID)
			if c.condition == "" {
				assert.NotContains(t, rule, "Condition")
			} else {
				assert.Equal(t, c.condition, rule["Condition"])
			}
			// The permission that lets this rule invoke the remediator shares the rule's condition.
			var perms int
			for _, p := range m.resources("AWS::Lambda::Permission") {
				if jsonOf(t, props(p)["SourceArn"]) == jsonOf(t, getAtt(id, "Arn")) {
					perms++
					assert.Equal(t, getAtt(fnID, "Arn"), props(p)["FunctionName"])
					assert.Equal(t, "events.amazonaws.com", props(p)["Principal"])
					if c.condition == "" {
						assert.NotContains(t, p, "Condition")
					} else {
						assert.Equal(t, c.condition, p["Condition"])
					}
				}
			}
			assert.Equal(t, 1, perms)
		})
	}
	// The condition keeps the template region-agnostic: the IAM rule exists only in us-east-1.
	conds := m["Conditions"].(map[string]any)
	assert.Equal(t, map[string]any{"Fn::Equals": []any{region, "us-east-1"}}, conds["InUsEast1"])
}

func assertTargetsRemediator(t *testing.T, rule map[string]any, fnID string) {
	t.Helper()
	targets := rule["Targets"].([]any)
	require.Len(t, targets, 1)
	tg := targets[0].(map[string]any)
	assert.Equal(t, getAtt(fnID, "Arn"), tg["Arn"])
	assert.Equal(t, map[string]any{
		"MaximumRetryAttempts":     float64(stacks.RuleRetryAttempts),
		"MaximumEventAgeInSeconds": stacks.RuleMaxEventAge.Seconds(),
	}, tg["RetryPolicy"])
}

func TestSweepScheduleFromContext(t *testing.T) {
	_, m := providerTemplate(t)
	fnID := mustID(t, m, "AWS::Lambda::Function", "Remediator")
	_, sweep := m.one(t, "AWS::Events::Rule", "Sweep")
	assert.Equal(t, "rate(15 minutes)", props(sweep)["ScheduleExpression"])
	assert.NotContains(t, props(sweep), "EventPattern")
	assertTargetsRemediator(t, props(sweep), fnID)

	s := build(t, map[string]any{stacks.CtxSweepMinutes: "5"})
	_, m5 := toTemplate(t, s.provider.Stack)
	_, sweep5 := m5.one(t, "AWS::Events::Rule", "Sweep")
	assert.Equal(t, "rate(5 minutes)", props(sweep5)["ScheduleExpression"])
}

func TestOutputsExportTheServiceToken(t *testing.T) {
	_, m := providerTemplate(t)
	out := m["Outputs"].(map[string]any)
	fnID := mustID(t, m, "AWS::Lambda::Function", "Provider")
	st := out["ServiceToken"].(map[string]any)
	assert.Equal(t, getAtt(fnID, "Arn"), st["Value"])
	assert.Equal(t, map[string]any{"Name": trailguard.DefaultServiceTokenExport}, st["Export"])
	assert.Equal(t, ref(mustID(t, m, "AWS::SNS::Topic", "Notifications")), out["TopicArn"].(map[string]any)["Value"])
	assert.Equal(t, ref(mustID(t, m, "AWS::DynamoDB::Table", "Registry")), out["RegistryTableName"].(map[string]any)["Value"])
	assert.Equal(t, getAtt(mustID(t, m, "AWS::IAM::Role", "DeliveryRole"), "Arn"), out["DeliveryRoleArn"].(map[string]any)["Value"])
	assert.Equal(t, ref(mustID(t, m, "AWS::IAM::ManagedPolicy", "DeliveryBoundary")), out["DeliveryBoundaryArn"].(map[string]any)["Value"])
}

func TestTemplateHardCodesNoAccountRegionOrPartition(t *testing.T) {
	_, m := providerTemplate(t)
	resources := jsonOf(t, m["Resources"])
	for _, s := range []string{"123456789012", "arn:aws:", "arn:aws-", "us-west-2", "eu-west-1"} {
		assert.False(t, strings.Contains(resources, s), "the provider stack's resources contain %q", s)
	}
	for id, r := range m.resources("AWS::IAM::Role") {
		assert.NotContains(t, props(r), "RoleName", "%s: a fixed role name collides when the stack runs in two regions", id)
	}
	for id, r := range m.resources("AWS::Lambda::Function") {
		assert.NotContains(t, props(r), "FunctionName", id)
	}
}

func TestConfigFromContext(t *testing.T) {
	c, err := stacks.ConfigFromContext(newApp(nil))
	require.NoError(t, err)
	assert.Equal(t, stacks.Config{ProviderStackName: "trailguard", ExampleStackName: "trailguard-example",
		SweepInterval: 15 * time.Minute, ExampleTrailName: "trailguard-example",
		ServiceTokenExport: "trailguard-ServiceToken", LogLevel: "info", AssetDir: distDir}, c)

	c, err = stacks.ConfigFromContext(newApp(map[string]any{stacks.CtxSweepMinutes: 30, stacks.CtxLogLevel: "debug",
		stacks.CtxProviderStackName: "tg", stacks.CtxExampleTrailName: "audit"}))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Minute, c.SweepInterval)
	assert.Equal(t, "debug", c.LogLevel)
	assert.Equal(t, "tg", c.ProviderStackName)
	assert.Equal(t, "audit", c.ExampleTrailName)
	assert.False(t, c.CustomerManagedKey, "the customer managed key is opt-in (issue 24)")

	for key, bad := range map[string]any{stacks.CtxSweepMinutes: "0", stacks.CtxLogLevel: "loud", stacks.CtxProviderStackName: "",
		stacks.CtxAllowedStacks: "audit,team_b", stacks.CtxCustomerManagedKey: "yes"} {
		_, err := stacks.ConfigFromContext(newApp(map[string]any{key: bad}))
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), key)
	}
}

func TestProviderStackNeedsTheFunctionZips(t *testing.T) {
	app := newApp(nil)
	_, err := stacks.NewProviderStack(app, "missing", &stacks.ProviderStackProps{AssetDir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "provider.zip")
	assert.Contains(t, err.Error(), "make build")

	_, err = stacks.NewProviderStack(app, "bad-mail", &stacks.ProviderStackProps{AssetDir: distDir, NotificationEmail: "not-an-address"})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "not-an-address"))
}
