package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsorganizations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailguard/trailguard/infra/guardrail"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// The organization deployment (docs/organizations.md): one `make deploy-org` from the management account or a
// delegated administrator puts the provider stack, as the member template, into every account of the target OUs in
// every target region, through a service-managed StackSet, and gathers every member's notifications in one topic.
//
//   - StackName-assets-REGION (one per region, in the deploying account): the code bucket PREFIX-REGION, readable
//     by the organization only (aws:PrincipalOrgID, GetObject only, TLS only), and the two function zips copied
//     into it by a BucketDeployment. Lambda reads code only from a bucket of the function's own region, and
//     member accounts have no CDK bootstrap bucket: these buckets are where every member's code comes from.
//   - StackName (the deploying account's home region): the central topic and its key, the central event bus with
//     its log group and metric filters (orgcentral.go), and the StackSet.
//   - StackName-member (a stage, never deployed by `cdk deploy`): the member template, the provider stack in
//     member mode, synthesized without assets; the StackSet's TemplateURL is this template, uploaded as an asset of
//     the StackName stack.

// OrgCodePrefix is where the function zips live in a code bucket. Keys below it are content hashes, so a new build
// never overwrites the code a member stack (or its rollback) still names.
const OrgCodePrefix = "trailguard/lambda/"

// RetainStacksOnAccountRemoval is the StackSet's choice for an account that leaves the target OUs or the
// organization: its stack instance is kept (as a stack of that account, no longer managed by the StackSet) rather
// than deleted. Deleting it would remove the guard from the account's trails without telling anyone there, and an
// account moved between OUs or out of the organization is an administrative change that should not, as a side
// effect, take down the audit trail's watchdog. The delivery role is retained on deletion either way.
const RetainStacksOnAccountRemoval = true

// Org is the organization deployment.
type Org struct {
	// Stack is the deploying account's stack: Topic (every member's notifications), Key, and StackSet.
	Stack    awscdk.Stack
	Topic    awssns.Topic
	Key      awskms.Key
	StackSet awscloudformation.CfnStackSet
	// Bus takes every member's decision events and alarm state changes; Events is the log group its rule writes
	// them to, whose metric filters (OrgMetrics) count them by account and region (orgcentral.go).
	Bus    awsevents.EventBus
	Events awslogs.LogGroup
	// Assets are the code bucket stacks, by region.
	Assets map[string]*OrgAssets
	// Member is the member template's stack (the provider stack in member mode), in its own stage;
	// MemberTemplate is the path of its synthesized template.
	Member         *ProviderStack
	MemberTemplate string
	// CodeKeys are the object keys of the function zips in every code bucket, by function (provider, remediator).
	CodeKeys map[string]string
	// Guardrail is the service control policy attached to the target OUs; nil when the guardrail is off.
	Guardrail awsorganizations.CfnPolicy
}

// OrgAssets is one region's code bucket stack.
type OrgAssets struct {
	Stack      awscdk.Stack
	Bucket     awss3.Bucket
	Deployment awss3deployment.BucketDeployment
}

// BuildOrg adds the organization deployment to app. Call it after Build, whose cdk-nag aspect on the app checks the
// organization's top-level stacks; the member stage, which app-level aspects do not reach, gets its own.
func BuildOrg(app awscdk.App, c Config) (*Org, error) {
	o := c.Org
	if o == nil {
		return nil, fmt.Errorf("no organization settings: set context %s, %s and %s",
			CtxOrgOrganizationID, CtxOrgTargetOUs, CtxOrgRegions)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	zips := map[string]string{}
	for _, fn := range []string{"provider", "remediator"} {
		path := filepath.Join(c.AssetDir, fn+".zip")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("function package %s: %w (run `make build` first)", path, err)
		}
		zips[fn] = path
	}
	org := &Org{Assets: map[string]*OrgAssets{}, CodeKeys: map[string]string{}}

	// The member template, synthesized now: the StackSet stack below uploads the file as an asset.
	stage := awscdk.NewStage(app, jsii.String(o.StackName+"-member"), nil)
	member, err := NewProviderStack(stage, c.ProviderStackName, &ProviderStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("trailguard (organization member): keeps CloudTrail trails delivering to CloudWatch Logs"),
		},
		ServiceTokenExport: c.ServiceTokenExport,
		CustomerManagedKey: c.CustomerManagedKey,
		Member:             true,
	})
	if err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	awscdk.Aspects_Of(stage).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	org.Member = member
	org.MemberTemplate = *stage.Synth(nil).GetStackArtifact(member.Stack.ArtifactId()).TemplateFullPath()

	// The deploying account's id is the default prefix: bucket names are global, and every stack below is
	// deployed into that one account, where the token resolves to the same value.
	prefix := jsii.String(o.AssetBucketPrefix)
	if o.AssetBucketPrefix == "" {
		prefix = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("trailguard-org-assets-"), awscdk.Aws_ACCOUNT_ID()})
	}

	for _, region := range o.Regions {
		a := newOrgAssets(app, o, region, prefix, zips)
		org.Assets[region] = a.OrgAssets
		for fn, key := range a.keys {
			if prev, ok := org.CodeKeys[fn]; ok && prev != key {
				return nil, fmt.Errorf("code key of %s differs between regions (%s, %s)", fn, prev, key)
			}
			org.CodeKeys[fn] = key
		}
	}

	org.Stack = awscdk.NewStack(app, jsii.String(o.StackName), &awscdk.StackProps{
		Description: jsii.String("trailguard organization: the StackSet that deploys trailguard to every target account and region, and the central notification topic"),
	})
	org.central(o, c.NotificationEmail)
	org.centralBus(o)

	template := awss3assets.NewAsset(org.Stack, jsii.String("MemberTemplate"), &awss3assets.AssetProps{
		Path: jsii.String(org.MemberTemplate),
	})
	values := map[string]*string{
		ParamCentralTopicARN:    org.Topic.TopicArn(),
		ParamCentralTopicKeyARN: org.Key.KeyArn(),
		ParamCentralEventBusARN: org.Bus.EventBusArn(),
		ParamAssetBucketPrefix:  prefix,
		ParamProviderCodeKey:    jsii.String(org.CodeKeys["provider"]),
		ParamRemediatorCodeKey:  jsii.String(org.CodeKeys["remediator"]),
		ParamSweepMinutes:       jsii.String(sweepMinutes(c.SweepInterval)),
	}
	for _, row := range lambdaenv.Table { // the function settings a member takes as parameters
		if row.Param != "" {
			values[row.Param] = jsii.String(c.FunctionSetting(row.Env))
		}
	}
	params := make([]any, len(MemberParameters))
	for i, name := range MemberParameters {
		params[i] = &awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(name), ParameterValue: values[name]}
	}
	org.StackSet = awscloudformation.NewCfnStackSet(org.Stack, jsii.String("StackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(o.StackSetName),
		Description:     jsii.String("trailguard: keeps every CloudTrail trail of the organization delivering to CloudWatch Logs"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(o.CallAs),
		// The member template creates roles with generated names.
		Capabilities: jsii.Strings("CAPABILITY_IAM"),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(RetainStacksOnAccountRemoval),
		},
		// Managed execution queues an operation behind a running one instead of failing it, so an update and an
		// account joining an OU (auto-deployment) do not collide.
		// (The property is untyped JSON in the resource specification, so CDK renders a Go struct by its json
		// tags, "active"; a map keeps CloudFormation's spelling.)
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			FailureTolerancePercentage: jsii.Number(float64(o.FailureTolerancePercentage)),
			MaxConcurrentPercentage:    jsii.Number(float64(o.MaxConcurrentPercentage)),
			ConcurrencyMode:            jsii.String(o.ConcurrencyMode),
			RegionConcurrencyType:      jsii.String(o.RegionConcurrency),
			RegionOrder:                jsii.Strings(o.Regions...),
		},
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(o.TargetOUs...),
			},
			Regions: jsii.Strings(o.Regions...),
		}},
		Parameters:  params,
		TemplateUrl: template.HttpUrl(),
	})
	org.guardrail(o)
	// The code must be in every region's bucket before a stack instance is created or updated.
	for _, region := range o.Regions {
		org.Stack.AddDependency(org.Assets[region].Stack, jsii.String("the member stacks read their code from "+region+"'s bucket"))
	}

	awscdk.NewCfnOutput(org.Stack, jsii.String("CentralTopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("SNS topic of every member's repairs and alerts"),
		Value:       org.Topic.TopicArn(),
	})
	awscdk.NewCfnOutput(org.Stack, jsii.String("CentralEventBusArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("event bus of every member's decision events and alarm state changes"),
		Value:       org.Bus.EventBusArn(),
	})
	awscdk.NewCfnOutput(org.Stack, jsii.String("CentralEventsLogGroup"), &awscdk.CfnOutputProps{
		Description: jsii.String("log group of every member's events; metrics in namespace " + OrgMetricNamespace),
		Value:       org.Events.LogGroupName(),
	})
	awscdk.NewCfnOutput(org.Stack, jsii.String("StackSetId"), &awscdk.CfnOutputProps{
		Description: jsii.String("the StackSet that deploys trailguard to the organization"),
		Value:       org.StackSet.AttrStackSetId(),
	})
	return org, nil
}

// guardrail attaches the preventive guardrail (infra/guardrail) to the target OUs, when it is on. It is created
// after the StackSet, so that a first deployment's member stacks have their roles under /trailguard/ before any
// policy names that path; instances created later are deployed by the StackSets execution role, which the policy
// admits for role writes. On deletion (rolling the guardrail back) CloudFormation removes it before the StackSet.
func (org *Org) guardrail(o *OrgSettings) {
	doc := guardrail.Policy(o.Guardrail)
	if doc == nil {
		return
	}
	org.Guardrail = awsorganizations.NewCfnPolicy(org.Stack, jsii.String("Guardrail"), &awsorganizations.CfnPolicyProps{
		Name: jsii.String(o.StackSetName + "-guardrail"),
		Description: jsii.String("trailguard (" + o.Guardrail.Level + "): only trailguard's roles and the break-glass role may " +
			"delete or weaken guarded CloudTrail log groups and trails (docs/organizations.md)"),
		Type:      jsii.String("SERVICE_CONTROL_POLICY"),
		Content:   doc,
		TargetIds: jsii.Strings(o.TargetOUs...),
		// The policy denies a member account's delegated administrator detaching or changing a policy so tagged.
		Tags: &[]*awscdk.CfnTag{{Key: jsii.String(guardrail.PolicyTag), Value: jsii.String(o.Guardrail.Level)}},
	})
	org.Guardrail.AddDependency(org.StackSet)
}

// central creates the one place to look: an encrypted topic that only principals of the organization may publish
// to, and the key that encrypts it, usable by the organization only through SNS in this region.
func (org *Org) central(o *OrgSettings, email string) {
	inOrg := map[string]any{"aws:PrincipalOrgID": o.OrganizationID}
	org.Key = awskms.NewKey(org.Stack, jsii.String("CentralKey"), &awskms.KeyProps{
		Description:       jsii.String("trailguard organization: encrypts the central notification topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// A publisher to an encrypted topic needs these two actions on its key; kms:ViaService keeps the grant from
	// being usable for anything but publishing to SNS in this region.
	org.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationPublishesToTheCentralTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:GenerateDataKey*", "kms:Decrypt"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" means this key
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"aws:PrincipalOrgID": o.OrganizationID,
			"kms:ViaService":     awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("sns."), awscdk.Aws_REGION(), jsii.String(".amazonaws.com")}),
		}},
	}), nil)
	org.Topic = awssns.NewTopic(org.Stack, jsii.String("CentralNotifications"), &awssns.TopicProps{
		DisplayName: jsii.String("trailguard organization"),
		MasterKey:   org.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	org.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationPublishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{org.Topic.TopicArn()},
		Conditions: &map[string]any{"StringEquals": inOrg},
	}))
	if email != "" {
		org.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
}

// orgAssets is a region's code bucket stack and the object keys its deployment writes.
type orgAssets struct {
	*OrgAssets
	keys map[string]string
}

// newOrgAssets builds one region's code bucket stack in the deploying account.
func newOrgAssets(app awscdk.App, o *OrgSettings, region string, prefix *string, zips map[string]string) orgAssets {
	stack := awscdk.NewStack(app, jsii.String(fmt.Sprintf("%s-assets-%s", o.StackName, region)), &awscdk.StackProps{
		Description: jsii.String("trailguard organization: the functions' code in " + region + ", readable by the organization"),
		// The region must be fixed (the bucket serves Lambda in that region); the account is the deploying one.
		Env: &awscdk.Environment{Region: jsii.String(region)},
	})
	bucket := awss3.NewBucket(stack, jsii.String("Code"), &awss3.BucketProps{
		BucketName:        AssetBucketName(prefix, jsii.String(region)),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// Member stacks, and their rollbacks, name objects here.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Whoever creates or updates a member's functions (the StackSet execution role of that account) reads the code
	// with its own credentials; aws:PrincipalOrgID with one value is not "public" to S3's Block Public Access.
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationReadsCode"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:GetObject"),
		Resources:  &[]*string{bucket.ArnForObjects(jsii.String(OrgCodePrefix + "*"))},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": o.OrganizationID}},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The bucket holds only the functions' build output, written by the BucketDeployment of " +
			"this stack and read by the organization's CloudFormation when it creates or updates functions; who wrote " +
			"or read it is in CloudTrail (S3 data events can be enabled on it), and a second log bucket per region " +
			"would add cost without adding a record."),
	}}, nil)

	keys := map[string]string{}
	var sources []awss3deployment.ISource
	for _, fn := range []string{"provider", "remediator"} {
		asset := awss3assets.NewAsset(stack, jsii.String(fn+"Zip"), &awss3assets.AssetProps{Path: jsii.String(zips[fn])})
		// The asset's key is its content hash (DefaultStackSynthesizer: hash + extension), a plain string.
		keys[fn] = OrgCodePrefix + *asset.S3ObjectKey()
		sources = append(sources, awss3deployment.Source_Bucket(asset.Bucket(), asset.S3ObjectKey()))
	}
	deployment := awss3deployment.NewBucketDeployment(stack, jsii.String("DeployCode"), &awss3deployment.BucketDeploymentProps{
		Sources:              &sources,
		DestinationBucket:    bucket,
		DestinationKeyPrefix: jsii.String(OrgCodePrefix),
		// Copy the zips as they are (the default would unpack them), and keep earlier builds: a member stack's
		// rollback names the previous keys.
		Extract: jsii.Bool(false),
		Prune:   jsii.Bool(false),
	})
	// The BucketDeployment's handler is a singleton function of the stack, not a child of the deployment.
	for _, child := range *stack.Node().Children() {
		if strings.HasPrefix(*child.Node().Id(), "Custom::CDKBucketDeployment") {
			cdknag.NagSuppressions_AddResourceSuppressions(child, bucketDeploymentSuppressions, jsii.Bool(true))
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(deployment, bucketDeploymentSuppressions, jsii.Bool(true))
	return orgAssets{OrgAssets: &OrgAssets{Stack: stack, Bucket: bucket, Deployment: deployment}, keys: keys}
}

// bucketDeploymentSuppressions are the findings of CDK's own BucketDeployment handler, which copies the zips from
// the deploying account's CDK asset bucket into the code bucket at deploy time and does nothing at any other time.
var bucketDeploymentSuppressions = &[]*cdknag.NagPackSuppression{
	{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("CDK's BucketDeployment handler runs with AWSLambdaBasicExecutionRole (its own log " +
			"group); it runs only during deployments of this stack, in the deploying account, never in a member."),
	},
	{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("CDK's BucketDeployment handler reads the asset objects of the CDK bootstrap bucket " +
			"(s3:GetObject*, s3:GetBucket*, s3:List*) and writes the code bucket's objects (s3:DeleteObject*, " +
			"s3:PutObject*, s3:Abort* on bucket/*); those object wildcards are how the handler's grants are " +
			"written, and they cover this stack's two buckets only."),
	},
	{
		Id: jsii.String("AwsSolutions-L1"),
		Reason: jsii.String("The BucketDeployment handler's runtime is chosen by the pinned aws-cdk-lib version, " +
			"not by this app; it moves with CDK upgrades and runs only at deploy time in the deploying account."),
	},
}
