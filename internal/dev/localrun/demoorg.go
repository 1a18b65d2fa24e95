package localrun

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
	"github.com/trailguard/trailguard/internal/notify"
	"github.com/trailguard/trailguard/internal/registry"
)

// The organization the story builds on one moto_server: the management account is moto's default account
// (testbed.Account), the members are the accounts moto's Organizations creates.
const (
	// MemberTemplate is the StackSet's member template as the CDK app synthesizes it, pinned by the infra snapshot
	// tests (`go test ./infra/... -update` rewrites it).
	MemberTemplate = "infra/stacks/testdata/trailguard-member.template.json"
	// CentralTopicName is the deploying account's topic every member publishes to.
	CentralTopicName = "trailguard-central"
	// CentralMailbox is the inbox path subscribed to the central topic: the security team's mail.
	CentralMailbox = "/security"
	// CentralBusName and CentralEventsLog are the central event bus and its log group as the organization stack
	// names them with its default name (trailguard-org; infra/stacks/orgcentral.go).
	CentralBusName   = "trailguard-org"
	CentralEventsLog = "/trailguard/organization/trailguard-org"
	// orgMetricNamespace is the central metrics' namespace (stacks.OrgMetricNamespace).
	orgMetricNamespace = "trailguard/organization"
	stackSetName       = "trailguard"
	targetOU           = "workloads"
	orgTrailName       = "org-trail"
	// accessRole is the role Organizations creates in every account it creates, which the management account
	// assumes to act in a member (moto does not check that it exists, nor its trust policy).
	accessRole = "OrganizationAccountAccessRole"
)

// OrgRegions are the StackSet's regions, in deployment order; the first is the home region of the central topic.
var OrgRegions = []string{testbed.Region, "eu-west-1"}

// orgMembers are the member accounts the story creates, each with the undeclared trail its team made in one region.
var orgMembers = []struct{ name, trail, region string }{
	{"payments", "payments-trail", "us-east-1"},
	{"analytics", "analytics-trail", "eu-west-1"},
}

// OrgNextSteps is what the organization story suggests running after it passed.
var OrgNextSteps = []string{
	"next: make test                     lint, every test (this story's too), fuzz, govulncheck, cfn-lint",
	"      make synth-org cfn-lint-org   the StackSet, central topic and member templates, linted",
	"      make deploy-org               from the management account or a delegated administrator:",
	"                                    docs/organizations.md (prerequisites, deploy, roll back, cost)",
}

// DemoOrg runs the organization story against a fresh moto, printing each step to out, and stops everything it
// started before returning. Options are Demo's (log directory, extra checks after a step).
func DemoOrg(ctx context.Context, out io.Writer, opts ...Option) Summary {
	return tell(ctx, out, "demo-org", opts, func(s *Session) []Step { return (&orgDemo{s: s}).steps() })
}

// account is one account of the organization.
type account struct {
	name, id string
}

// instance is one stack instance: a member account in one region, with what its stack created and the local
// processes that play its two functions.
type instance struct {
	acct   account
	region string
	// op is the member's operator (the management account through OrganizationAccountAccessRole) in this region.
	op                    *testbed.AWS
	table, role, boundary string
	fnARN, fnRole, fnName map[string]string   // by function: provider, remediator
	fnEnv                 map[string][]string // the function's configured environment, KEY=value
	proxy                 *testbed.FaultProxy
	faults                *testbed.Faults
	rec                   *testbed.Recorder
	lambdas               map[string]*Lambda
	trail, trailARN       string // the undeclared trail its team made, if this is its region
	deliveryRoleName      string
	registry              *registry.Registry
	identity              map[string]string // by function: the caller ARN its credentials give
}

func (in *instance) String() string { return in.acct.name + " " + in.region }

// orgDemo is the organization story's state between steps.
type orgDemo struct {
	s          *Session
	orgID      string
	ouID       string
	mgmt       account
	members    []account
	topicARN   string
	busARN     string
	instances  []*instance
	seen       int // central notifications already shown
	orgTrail   string
	orgTrailTr []byte // the organization trail's description, as GetTrail gives it in the management account
	admin      *adminDemo
}

func (d *orgDemo) steps() []Step {
	return []Step{
		{"embedded AWS", d.launch},
		{"organization: management account, members, central topic and event bus", d.organization},
		{"StackSet " + stackSetName + " (SERVICE_MANAGED) to OU " + targetOU + " in " + strings.Join(OrgRegions, ", "), d.stackSet},
		{"Lambda, simulated: every instance's two functions run locally as their own account", d.functions},
		{"undeclared trails in two members; every member's remediator sweeps (account-wide)", d.adopt},
		{"attacker unlinks analytics' trail (eu-west-1); repaired, reported to the central topic", d.attack},
		{"organization trail: the management account's provider wires it with both prefixes", d.orgTrailStep},
		{"a member's view of the organization trail: left to its owner, no alert", d.memberView},
		{"CloudTrail delegated administrator: its stack wires an organization trail by ARN", d.delegatedAdmin},
		{"an unlink in the management account: the administrator's sweep repairs it", d.adminRepair},
		{"Delete in the administrator's account hands the organization trail back", d.adminDelete},
	}
}

func (d *orgDemo) launch(ctx context.Context) (Outcome, error) {
	if err := d.s.LaunchAWS(ctx); err != nil {
		return Outcome{}, err
	}
	d.mgmt = account{"management", testbed.Account}
	return Outcome{Summary: "moto_server on " + d.s.MotoURL() + ", one server for every account and region"}, nil
}

func (d *orgDemo) organization(ctx context.Context) (Outcome, error) {
	orgs := d.s.AWS().Organizations
	org, err := orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return Outcome{}, fmt.Errorf("create the organization: %w", err)
	}
	d.orgID = aws.ToString(org.Organization.Id)
	if got := aws.ToString(org.Organization.MasterAccountId); got != d.mgmt.id {
		return Outcome{}, fmt.Errorf("the organization's management account is %s, want %s", got, d.mgmt.id)
	}
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		return Outcome{}, fmt.Errorf("list the organization's roots: %d roots, %v", len(roots.Roots), err)
	}
	root := aws.ToString(roots.Roots[0].Id)
	ou, err := orgs.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String(targetOU)})
	if err != nil {
		return Outcome{}, fmt.Errorf("create OU %s: %w", targetOU, err)
	}
	d.ouID = aws.ToString(ou.OrganizationalUnit.Id)
	details := []string{fmt.Sprintf("organization %s, management account %s, OU %s (%s)", d.orgID, d.mgmt.id, targetOU, d.ouID)}
	for _, m := range orgMembers {
		created, err := orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(m.name),
			Email: aws.String(m.name + "@example.com")})
		if err != nil {
			return Outcome{}, fmt.Errorf("create account %s: %w", m.name, err)
		}
		st := created.CreateAccountStatus
		if st.State != orgtypes.CreateAccountStateSucceeded || aws.ToString(st.AccountId) == "" {
			return Outcome{}, fmt.Errorf("create account %s: state %s (%s)", m.name, st.State, st.FailureReason)
		}
		id := aws.ToString(st.AccountId)
		if _, err := orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
			SourceParentId: aws.String(root), DestinationParentId: aws.String(d.ouID)}); err != nil {
			return Outcome{}, fmt.Errorf("move account %s to OU %s: %w", m.name, targetOU, err)
		}
		d.members = append(d.members, account{m.name, id})
		details = append(details, fmt.Sprintf("member %-9s %s in OU %s", m.name, id, targetOU))
	}
	topic, err := d.s.AWS().SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(CentralTopicName)})
	if err != nil {
		return Outcome{}, fmt.Errorf("create the central topic: %w", err)
	}
	d.topicARN = aws.ToString(topic.TopicArn)
	d.s.inbox = testbed.NewInbox()
	if err := d.s.inbox.Subscribe(ctx, d.s.AWS().SNS, d.topicARN, CentralMailbox, ""); err != nil {
		return Outcome{}, err
	}
	details = append(details, "central topic "+d.topicARN+", inbox "+CentralMailbox+" subscribed")
	if err := d.centralBus(ctx); err != nil {
		return Outcome{}, err
	}
	details = append(details, "central bus "+d.busARN+" → log group "+CentralEventsLog)
	return Outcome{Summary: fmt.Sprintf("%d accounts: the management account and %d members", 1+len(d.members), len(d.members)),
		Details: details}, nil
}

// centralBus creates what the organization stack creates for members' metrics: the central event bus and the rule
// that writes every member event on it to the central log group, whose metric filters count them in AWS (moto
// evaluates neither the bus policy nor metric filters).
func (d *orgDemo) centralBus(ctx context.Context) error {
	mgmt := d.s.AWS()
	eb := eventbridge.NewFromConfig(mgmt.Config)
	bus, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(CentralBusName)})
	if err != nil {
		return fmt.Errorf("create the central event bus: %w", err)
	}
	d.busARN = aws.ToString(bus.EventBusArn)
	if _, err := mgmt.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(CentralEventsLog)}); err != nil {
		return fmt.Errorf("create the central log group: %w", err)
	}
	pattern, err := json.Marshal(map[string]any{"source": []string{notify.EventSource, "aws.cloudwatch"}})
	if err != nil {
		return err
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("central-events-to-log"),
		EventBusName: aws.String(CentralBusName), EventPattern: aws.String(string(pattern))}); err != nil {
		return fmt.Errorf("create the central bus's rule: %w", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("central-events-to-log"),
		EventBusName: aws.String(CentralBusName), Targets: []ebtypes.Target{{Id: aws.String("CentralLog"),
			Arn: aws.String("arn:aws:logs:" + mgmt.Config.Region + ":" + d.mgmt.id + ":log-group:" + CentralEventsLog),
			// The whole event, as AWS writes it to a log group (moto's default input leaves the account out).
			InputTransformer: &ebtypes.InputTransformer{InputTemplate: aws.String("<aws.events.event.json>")}}}}); err != nil {
		return fmt.Errorf("target the central log group: %w", err)
	}
	return nil
}

// assume returns a configuration for region with the credentials of roleARN's session, as STS gives them: moto
// answers each call signed with them as the role's account, which is how every process of the story acts as its
// own account on one server.
func (d *orgDemo) assume(ctx context.Context, roleARN, session, region string) (aws.Config, error) {
	out, err := sts.NewFromConfig(d.s.moto.Config(region)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)})
	if err != nil {
		return aws.Config{}, fmt.Errorf("assume role %s: %w", roleARN, err)
	}
	c := out.Credentials
	cfg := d.s.moto.Config(region)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey),
		aws.ToString(c.SessionToken))
	return cfg, nil
}

// operator is the management account's administrator acting in a member account and region.
func (d *orgDemo) operator(ctx context.Context, a account, region string) (*testbed.AWS, error) {
	cfg, err := d.assume(ctx, "arn:aws:iam::"+a.id+":role/"+accessRole, "operator", region)
	if err != nil {
		return nil, err
	}
	return testbed.NewAWS(cfg), nil
}

// codeZip is a function's host build, zipped as Lambda takes it: the code objects the StackSet's functions name.
func codeZip(name string) ([]byte, string, error) {
	bootstrap, err := testbed.BuildFunction(name)
	if err != nil {
		return nil, "", err
	}
	bin, err := os.ReadFile(bootstrap)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", bootstrap, err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err == nil {
		_, err = w.Write(bin)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("zip %s: %w", name, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "trailguard/lambda/" + hex.EncodeToString(sum[:]) + ".zip", nil
}

// functionName matches the functions CloudFormation names STACK-LOGICALID-SUFFIX, the CDK's logical ids being the
// construct's name and a hash.
var functionName = regexp.MustCompile(`-(Provider|Remediator)[0-9A-F]{8}-`)

func (d *orgDemo) stackSet(ctx context.Context) (Outcome, error) {
	template, err := ReadEvent(MemberTemplate)
	if err != nil {
		return Outcome{}, fmt.Errorf("the member template: %w", err)
	}
	// The code buckets the org app publishes, one per region, in the deploying account.
	prefix := "trailguard-org-assets-" + d.mgmt.id
	keys := map[string]string{}
	for _, fn := range []string{Provider, Remediator} {
		body, key, err := codeZip(fn)
		if err != nil {
			return Outcome{}, err
		}
		keys[fn] = key
		for _, region := range OrgRegions {
			c := s3.NewFromConfig(d.s.moto.Config(region), func(o *s3.Options) { o.UsePathStyle = true })
			bucket := prefix + "-" + region
			if fn == Provider {
				in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
				if region != "us-east-1" {
					in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
				}
				if _, err := c.CreateBucket(ctx, in); err != nil {
					return Outcome{}, fmt.Errorf("create code bucket %s: %w", bucket, err)
				}
			}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
				return Outcome{}, fmt.Errorf("upload %s to %s: %w", key, bucket, err)
			}
		}
	}
	values := map[string]string{
		"CentralTopicArn": d.topicARN,
		// moto models neither the central key nor its grant; the parameter only has to be a key ARN.
		"CentralTopicKeyArn": "arn:aws:kms:" + OrgRegions[0] + ":" + d.mgmt.id + ":key/00000000-0000-4000-8000-000000000001",
		"AssetBucketPrefix":  prefix, "ProviderCodeKey": keys[Provider], "RemediatorCodeKey": keys[Remediator],
		"AllowedStacks": "", "SweepMinutes": "15", "LogLevel": "info", "AccountWide": "true",
		"OrganizationId": d.orgID, "CentralEventBusArn": d.busARN,
	}
	var tpl struct{ Parameters map[string]json.RawMessage }
	if err := json.Unmarshal(template, &tpl); err != nil {
		return Outcome{}, fmt.Errorf("the member template: %w", err)
	}
	var params []cfntypes.Parameter
	for name := range tpl.Parameters {
		v, ok := values[name]
		if !ok {
			return Outcome{}, fmt.Errorf("the member template takes parameter %s, which this story does not pass: add it to localrun.DemoOrg", name)
		}
		params = append(params, cfntypes.Parameter{ParameterKey: aws.String(name), ParameterValue: aws.String(v)})
	}
	cfn := cloudformation.NewFromConfig(d.s.moto.Config(OrgRegions[0]))
	if _, err := cfn.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{
		StackSetName: aws.String(stackSetName), TemplateBody: aws.String(string(template)), Parameters: params,
		PermissionModel: cfntypes.PermissionModelsServiceManaged,
		AutoDeployment:  &cfntypes.AutoDeployment{Enabled: aws.Bool(true), RetainStacksOnAccountRemoval: aws.Bool(true)},
		Capabilities:    []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam},
	}); err != nil {
		return Outcome{}, fmt.Errorf("create StackSet %s: %w", stackSetName, err)
	}
	op, err := cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{
		StackSetName: aws.String(stackSetName), Regions: OrgRegions,
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{d.ouID}},
		OperationPreferences: &cfntypes.StackSetOperationPreferences{FailureTolerancePercentage: aws.Int32(10),
			MaxConcurrentPercentage: aws.Int32(25), RegionConcurrencyType: cfntypes.RegionConcurrencyTypeSequential},
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("create the stack instances: %w", err)
	}
	st, err := cfn.DescribeStackSetOperation(ctx, &cloudformation.DescribeStackSetOperationInput{StackSetName: aws.String(stackSetName),
		OperationId: op.OperationId})
	if err != nil {
		return Outcome{}, fmt.Errorf("read the StackSet operation: %w", err)
	}
	if st.StackSetOperation.Status != cfntypes.StackSetOperationStatusSucceeded {
		return Outcome{}, fmt.Errorf("the StackSet operation ended %s", st.StackSetOperation.Status)
	}
	list, err := cfn.ListStackInstances(ctx, &cloudformation.ListStackInstancesInput{StackSetName: aws.String(stackSetName)})
	if err != nil {
		return Outcome{}, fmt.Errorf("list the stack instances: %w", err)
	}
	if want := len(d.members) * len(OrgRegions); len(list.Summaries) != want {
		return Outcome{}, fmt.Errorf("%d stack instances, want %d (every member in every region)", len(list.Summaries), want)
	}
	details := []string{"moto's StackSets create the instances from the real member template; in each member and region:"}
	for _, a := range d.members {
		for _, region := range OrgRegions {
			in, err := d.readInstance(ctx, a, region, list.Summaries)
			if err != nil {
				return Outcome{}, err
			}
			d.instances = append(d.instances, in)
			details = append(details, fmt.Sprintf("%-9s %s %s: table %s, role %s, functions %s and %s", a.name, a.id, region,
				in.table, in.deliveryRoleName, shortFn(in.fnName[Provider]), shortFn(in.fnName[Remediator])))
		}
	}
	details = append(details,
		"What moto cannot do: run a function (Lambda Invoke needs Docker), deliver CloudTrail events or the "+
			"sweep schedule to EventBridge targets, or model the alarms, topic and queue policies and "+
			"EventInvokeConfig (it skips those resources). The next step plays Lambda for every instance.")
	return Outcome{Summary: fmt.Sprintf("%d stack instances CURRENT (SUCCEEDED): %d members × %d regions",
		len(list.Summaries), len(d.members), len(OrgRegions)), Details: details}, nil
}

func shortFn(name string) string {
	if m := functionName.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return name
}

// readInstance reads, as the member's operator, what the stack instance in a and region created: the two functions'
// configurations, the registry table and the delivery role with its boundary.
func (d *orgDemo) readInstance(ctx context.Context, a account, region string, summaries []cfntypes.StackInstanceSummary) (*instance, error) {
	if !slices.ContainsFunc(summaries, func(s cfntypes.StackInstanceSummary) bool {
		return aws.ToString(s.Account) == a.id && aws.ToString(s.Region) == region && s.Status == cfntypes.StackInstanceStatusCurrent
	}) {
		return nil, fmt.Errorf("no CURRENT stack instance in %s %s", a.name, region)
	}
	op, err := d.operator(ctx, a, region)
	if err != nil {
		return nil, err
	}
	in := &instance{acct: a, region: region, op: op, fnARN: map[string]string{}, fnRole: map[string]string{},
		fnName: map[string]string{}, fnEnv: map[string][]string{}, lambdas: map[string]*Lambda{}, identity: map[string]string{}}
	fns, err := lambda.NewFromConfig(op.Config).ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		return nil, fmt.Errorf("%s: list functions: %w", in, err)
	}
	for _, f := range fns.Functions {
		m := functionName.FindStringSubmatch(aws.ToString(f.FunctionName))
		if m == nil {
			continue
		}
		fn := strings.ToLower(m[1])
		if _, dup := in.fnARN[fn]; dup {
			return nil, fmt.Errorf("%s: two %s functions", in, fn)
		}
		in.fnARN[fn], in.fnRole[fn], in.fnName[fn] = aws.ToString(f.FunctionArn), aws.ToString(f.Role), aws.ToString(f.FunctionName)
		var vars map[string]string
		if f.Environment != nil {
			vars = f.Environment.Variables
		}
		for _, k := range sortedKeys(vars) {
			in.fnEnv[fn] = append(in.fnEnv[fn], k+"="+vars[k])
		}
		if fn == Remediator {
			in.table, in.role, in.boundary = vars[lambdaenv.RegistryTable], vars[lambdaenv.DeliveryRoleARN], vars[lambdaenv.DeliveryBoundaryARN]
		}
	}
	if len(in.fnARN) != 2 {
		return nil, fmt.Errorf("%s: the stack instance has functions %v, want a provider and a remediator", in, in.fnName)
	}
	if _, err := op.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(in.table)}); err != nil {
		return nil, fmt.Errorf("%s: registry table %q: %w", in, in.table, err)
	}
	in.deliveryRoleName = in.role[strings.LastIndex(in.role, "/")+1:]
	role, err := op.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(in.deliveryRoleName)})
	if err != nil {
		return nil, fmt.Errorf("%s: delivery role %q: %w", in, in.role, err)
	}
	if b := role.Role.PermissionsBoundary; b == nil || aws.ToString(b.PermissionsBoundaryArn) != in.boundary {
		return nil, fmt.Errorf("%s: delivery role %s does not carry the boundary %s", in, in.role, in.boundary)
	}
	in.registry = registry.New(op.DynamoDB, in.table)
	return in, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The management account runs the standalone provider stack (service-managed StackSets never deploy to it), here
// as the sample world's: its registry table and delivery role, and a provider publishing to the central topic.
const mgmtProvider = "management-provider"

func (d *orgDemo) functions(ctx context.Context) (Outcome, error) {
	var details []string
	for _, in := range d.instances {
		in.faults, in.rec = testbed.NewFaults(), &testbed.Recorder{}
		p, err := testbed.NewFaultProxy(d.s.MotoURL(), in.faults, in.rec)
		if err != nil {
			return Outcome{}, fmt.Errorf("%s: the proxy in front of moto: %w", in, err)
		}
		in.proxy = p
		d.s.OnClose(p.Close)
		for _, fn := range []string{Provider, Remediator} {
			cfg, err := d.assume(ctx, in.fnRole[fn], in.fnName[fn], in.region)
			if err != nil {
				return Outcome{}, err
			}
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return Outcome{}, err
			}
			who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return Outcome{}, fmt.Errorf("%s %s: who am I: %w", in, fn, err)
			}
			if aws.ToString(who.Account) != in.acct.id {
				return Outcome{}, fmt.Errorf("%s %s: its credentials act as account %s", in, fn, aws.ToString(who.Account))
			}
			in.identity[fn] = aws.ToString(who.Arn)
			// Lambda's environment: the region, the execution role's session, the function's own variables; the
			// endpoint is the instance's proxy to moto, which records its calls.
			env := append(d.s.moto.Env(in.region), "AWS_ENDPOINT_URL="+p.URL(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID,
				"AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey, "AWS_SESSION_TOKEN="+creds.SessionToken)
			env = append(env, in.fnEnv[fn]...)
			key := fmt.Sprintf("%s-%s-%s", in.acct.name, in.region, fn)
			l, err := d.s.StartInstance(key, fn, in.fnARN[fn], env)
			if err != nil {
				return Outcome{}, err
			}
			in.lambdas[fn] = l
		}
		if err := unscheduleForMoto(ctx, in); err != nil {
			return Outcome{}, err
		}
		details = append(details, fmt.Sprintf("%-9s %s: as %s", in.acct.name, in.region, roleSession(in.identity[Remediator])))
	}
	// The management account's standalone provider: the sample world's table and delivery role in its account.
	if err := d.s.AWS().CreateRegistryTable(ctx, testbed.RegistryTable); err != nil {
		return Outcome{}, err
	}
	if err := d.s.AWS().CreateOrganizationDeliveryRole(ctx, d.orgID); err != nil {
		return Outcome{}, err
	}
	env := append(d.s.moto.Env(OrgRegions[0]), lambdaenv.RegistryTable+"="+testbed.RegistryTable, lambdaenv.TopicARN+"="+d.topicARN,
		lambdaenv.LocalRun+"=true", lambdaenv.BoundaryOrganizationID+"="+d.orgID)
	env = append(env, testbed.DeliveryEnv()...)
	if _, err := d.s.StartInstance(mgmtProvider, Provider, testbed.LocalFunctionARN, env); err != nil {
		return Outcome{}, err
	}
	details = append(details, fmt.Sprintf("management %s: the standalone provider (StackSets never deploy to the management account)",
		OrgRegions[0]), "log lines in "+ShowPath(filepath.Join(d.s.logDir, "<account>-<region>-<function>.log")),
		"moto matches a schedule rule to every event put on a bus and cannot invoke Lambda: the story removes the "+
			"sweep schedule's target (it plays the schedule itself), so the remediators' decision events reach the "+
			"forwarding rules")
	// A function missing a setting exits at once: give it a moment to do so, rather than fail in a later step.
	time.Sleep(200 * time.Millisecond)
	n := 0
	for key, l := range d.s.lambdas {
		if !l.Running() {
			return Outcome{}, fmt.Errorf("%s exited at start-up; its log ends with:\n%s", key, l.tailText(5))
		}
		n++
	}
	return Outcome{Summary: fmt.Sprintf("%d functions running, each with its instance's configuration and role", n),
		Details: details}, nil
}

// unscheduleForMoto removes the targets of the instance's schedule rules: moto 5.2.1 sends every event put on a bus
// to a rule without a pattern, and answers 500 when that rule's target is a function, which would fail the
// remediator's decision events before they reach the forwarding rules.
func unscheduleForMoto(ctx context.Context, in *instance) error {
	eb := eventbridge.NewFromConfig(in.op.Config)
	rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{})
	if err != nil {
		return fmt.Errorf("%s: list rules: %w", in, err)
	}
	for _, r := range rules.Rules {
		if aws.ToString(r.ScheduleExpression) == "" {
			continue
		}
		targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name})
		if err != nil {
			return fmt.Errorf("%s: targets of rule %s: %w", in, aws.ToString(r.Name), err)
		}
		var ids []string
		for _, t := range targets.Targets {
			ids = append(ids, aws.ToString(t.Id))
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: r.Name, Ids: ids}); err != nil {
			return fmt.Errorf("%s: remove the targets of rule %s: %w", in, aws.ToString(r.Name), err)
		}
	}
	return nil
}

// roleSession is an assumed-role ARN as account and role: "arn:aws:sts::1:assumed-role/R/s" → "1 R".
func roleSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	role := strings.Split(parts[5], "/")
	if len(role) < 2 {
		return arn
	}
	return parts[4] + " role " + role[1]
}

// memberEvent is a sample event of events/ as EventBridge delivers it in another account and region, about
// another trail: the sample's account, region and trail name replaced.
func memberEvent(path string, in *instance, trail string) ([]byte, error) {
	raw, err := ReadEvent(path)
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer(testbed.Account, in.acct.id, testbed.Region, in.region, testbed.TrailName, trail)
	return []byte(r.Replace(string(raw))), nil
}

func (d *orgDemo) invoke(ctx context.Context, in *instance, fn string, event []byte) error {
	res, err := in.lambdas[fn].Invoke(ctx, event)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if res.Error != nil {
		return fmt.Errorf("%s: the %s returned an error: %w", in, fn, res.Error)
	}
	return nil
}

func (d *orgDemo) instance(name, region string) *instance {
	for _, in := range d.instances {
		if in.acct.name == name && in.region == region {
			return in
		}
	}
	return nil
}

// centralMessages waits for n notifications not shown yet on the central topic, checks that each names its
// account and region, and returns them as detail lines.
func (d *orgDemo) centralMessages(n int, want func(testbed.SNSMessage) error) ([]string, error) {
	if err := d.s.Inbox().WaitFor(d.seen+n, notifyWait); err != nil {
		return nil, fmt.Errorf("no notification reached the central topic: %w", err)
	}
	msgs := d.s.Inbox().Messages(CentralMailbox)
	if len(msgs) != d.seen+n {
		return nil, fmt.Errorf("%d notifications on the central topic, want %d", len(msgs)-d.seen, n)
	}
	var lines []string
	for i, m := range msgs[d.seen:] {
		if m.TopicArn != d.topicARN {
			return nil, fmt.Errorf("a notification came from topic %s, not the central topic", m.TopicArn)
		}
		if err := want(m); err != nil {
			return nil, err
		}
		lines = append(lines, ShowMessage(m, d.seen+i == 0)...)
	}
	d.seen = len(msgs)
	return lines, nil
}

// centralMetric finds, in the central log group, the decision event of in's trail that counts 1 for metric, and
// shows what the central account sees of it.
func (d *orgDemo) centralMetric(ctx context.Context, in *instance, metric string) ([]string, error) {
	out, err := d.s.AWS().Logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(CentralEventsLog)})
	if err != nil {
		return nil, fmt.Errorf("read the central log group %s: %w", CentralEventsLog, err)
	}
	for _, e := range out.Events {
		var ev struct {
			Source, Account, Region string
			Detail                  map[string]any
		}
		if err := json.Unmarshal([]byte(aws.ToString(e.Message)), &ev); err != nil {
			return nil, fmt.Errorf("an event in %s is not JSON: %w", CentralEventsLog, err)
		}
		if ev.Source != notify.EventSource || ev.Detail["Trail"] != in.trail || ev.Detail[metric] != 1.0 {
			continue
		}
		if ev.Detail["Account"] != in.acct.id || ev.Detail["Region"] != in.region {
			return nil, fmt.Errorf("the decision event of %s names %v %v, want %s %s", in.trail, ev.Detail["Account"],
				ev.Detail["Region"], in.acct.id, in.region)
		}
		return []string{
			fmt.Sprintf("central log group %s: %s %s=1 from %s %s (%d events from the organization so far)",
				CentralEventsLog, in.trail, metric, in.acct.id, in.region, len(out.Events)),
			"  (in AWS its metric filter counts it in " + orgMetricNamespace + " with dimensions Account and Region from " +
				"the event's own fields, which EventBridge sets; moto re-stamps a forwarded event with the central " +
				"account (here " + ev.Account + " " + ev.Region + "), so the story reads the detail's)",
		}, nil
	}
	return nil, fmt.Errorf("no decision event of %s with %s=1 in the central log group %s (%d events)", in.trail, metric,
		CentralEventsLog, len(out.Events))
}

// namesAccountAndRegion checks that a notification says where it comes from, in its subject and its body.
func namesAccountAndRegion(in *instance, what string) func(testbed.SNSMessage) error {
	return func(m testbed.SNSMessage) error {
		if !strings.HasSuffix(m.Subject, " in "+in.acct.id+" "+in.region) || !strings.Contains(m.Subject, what) ||
			!strings.Contains(m.Message, in.acct.id) || !strings.Contains(m.Message, in.region) {
			return fmt.Errorf("notification %q does not say %s in %s %s:\n%s", m.Subject, what, in.acct.id, in.region, m.Message)
		}
		return nil
	}
}

func (d *orgDemo) adopt(ctx context.Context) (Outcome, error) {
	var details []string
	var owners []*instance
	for _, m := range orgMembers {
		in := d.instance(m.name, m.region)
		arn, err := in.op.CreateTrail(ctx, m.trail, testbed.TrailOptions{})
		if err != nil {
			return Outcome{}, fmt.Errorf("%s: %w", in, err)
		}
		in.trail, in.trailARN = m.trail, arn
		owners = append(owners, in)
		details = append(details, fmt.Sprintf("%s creates multi-region trail %s, not declared by any stack", in, m.trail))
	}
	for _, in := range d.instances {
		ev, err := memberEvent(filepath.Join("events", "remediator", "sweep.json"), in, "")
		if err != nil {
			return Outcome{}, err
		}
		if err := d.invoke(ctx, in, Remediator, ev); err != nil {
			return Outcome{}, err
		}
		recs, err := in.registry.List(ctx)
		if err != nil {
			return Outcome{}, fmt.Errorf("%s: %w", in, err)
		}
		if in.trail == "" {
			// The other region of a member with a trail sees its shadow copy, and leaves it to its home region.
			if len(recs) != 0 {
				return Outcome{}, fmt.Errorf("%s adopted %s: a shadow copy or another account's trail", in, recs[0].TrailARN)
			}
			details = append(details, fmt.Sprintf("%s: swept, nothing to adopt (a shadow copy is its home region's)", in))
			continue
		}
		if len(recs) != 1 || recs[0].TrailARN != in.trailARN || recs[0].Owner != registry.AccountPolicy {
			return Outcome{}, fmt.Errorf("%s: the registry holds %d records, want %s owned by the account policy", in, len(recs), in.trail)
		}
		group, role, err := in.op.TrailLink(ctx, in.trailARN)
		if err != nil {
			return Outcome{}, err
		}
		if group == "" || role != in.role {
			return Outcome{}, fmt.Errorf("%s: trail %s sends to %q with %q; want a log group with the instance's role %s", in, in.trail,
				group, role, in.role)
		}
		details = append(details, fmt.Sprintf("%s: adopted %s, linked to %s with its delivery role", in, in.trail, ShortARN(group)))
	}
	lines, err := d.centralMessages(len(owners), func(m testbed.SNSMessage) error {
		for _, in := range owners {
			if strings.Contains(m.Subject, " "+in.trail+" ") {
				return namesAccountAndRegion(in, "adopted trail "+in.trail)(m)
			}
		}
		return fmt.Errorf("notification %q is about neither adopted trail", m.Subject)
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Summary: "2 trails adopted with the defaults, each reported on the central topic; shadows left alone",
		Details: append(details, lines...)}, nil
}

func (d *orgDemo) attack(ctx context.Context) (Outcome, error) {
	in := d.instance("analytics", "eu-west-1")
	want, _, err := in.op.TrailLink(ctx, in.trailARN)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := in.op.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(in.trail),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")}); err != nil {
		return Outcome{}, fmt.Errorf("%s: unlink trail %s: %w", in, in.trail, err)
	}
	if group, _, err := in.op.TrailLink(ctx, in.trailARN); err != nil || group != "" {
		return Outcome{}, fmt.Errorf("%s: the attack did not unlink the trail (log group %q, %v)", in, group, err)
	}
	ev, err := memberEvent(filepath.Join("events", "remediator", "update-trail-cleared.json"), in, in.trail)
	if err != nil {
		return Outcome{}, err
	}
	if err := d.invoke(ctx, in, Remediator, ev); err != nil {
		return Outcome{}, err
	}
	group, role, err := in.op.TrailLink(ctx, in.trailARN)
	if err != nil {
		return Outcome{}, err
	}
	if group != want || role != in.role {
		return Outcome{}, fmt.Errorf("not repaired: trail %s sends to %q with %q, want %q with %q", in.trail, group, role, want, in.role)
	}
	lines, err := d.centralMessages(1, namesAccountAndRegion(in, "repaired trail "+in.trail+" (UpdateTrail by alice?)"))
	if err != nil {
		return Outcome{}, err
	}
	metric, err := d.centralMetric(ctx, in, "Repaired")
	if err != nil {
		return Outcome{}, err
	}
	lines = append(lines, metric...)
	return Outcome{
		Summary: "relinked in " + in.acct.id + " eu-west-1; the notification reached the central topic in us-east-1",
		Details: append([]string{
			"alice (" + in.acct.name + "'s Admin) clears the trail's CloudWatch Logs settings; the UpdateTrail " +
				"event goes to the instance's remediator, which publishes to " + d.topicARN + ": its SNS client " +
				"is built for the topic ARN's region, and moto finds a topic by the account in its ARN, so the " +
				"member's call reaches the management account's topic (moto checks no topic policy; AWS checks " +
				"the central topic's aws:PrincipalOrgID condition)",
		}, lines...),
	}, nil
}

func (d *orgDemo) orgTrailStep(ctx context.Context) (Outcome, error) {
	mgmt := d.s.AWS()
	arn, err := mgmt.CreateTrail(ctx, orgTrailName, testbed.TrailOptions{Organization: true})
	if err != nil {
		return Outcome{}, err
	}
	d.orgTrail = arn
	if err := mgmt.TagTrail(ctx, arn, delivery.TagManagedBy, testbed.SampleStackID); err != nil {
		return Outcome{}, err
	}
	raw, err := ReadEvent(filepath.Join("events", "provider", "create.json"))
	if err != nil {
		return Outcome{}, err
	}
	raw = []byte(strings.ReplaceAll(string(raw), `"TrailName": "`+testbed.TrailName+`"`, `"TrailName": "`+orgTrailName+`"`))
	raw, err = WithLocalResponseURL(raw, d.s.Responses())
	if err != nil {
		return Outcome{}, err
	}
	res, err := d.s.Function(mgmtProvider).Invoke(ctx, raw)
	if err != nil {
		return Outcome{}, err
	}
	if res.Error != nil {
		return Outcome{}, fmt.Errorf("the provider returned an error to Lambda: %w", res.Error)
	}
	got, err := d.s.Responses().WaitFor(5 * time.Second)
	if err != nil {
		return Outcome{}, err
	}
	if got.Body.Status != "SUCCESS" || got.Body.PhysicalResourceID != arn {
		return Outcome{}, fmt.Errorf("CloudFormation received %s for %s: %s", got.Body.Status, got.Body.PhysicalResourceID, got.Body.Reason)
	}
	roleName, _ := got.Body.Data["RoleName"].(string)
	policyName, _ := got.Body.Data["PolicyName"].(string)
	doc, err := mgmt.RolePolicy(ctx, roleName, policyName)
	if err != nil {
		return Outcome{}, err
	}
	var p struct{ Statement []struct{ Resource any } }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return Outcome{}, fmt.Errorf("role policy %s is not JSON: %w", policyName, err)
	}
	var streams []string
	for _, st := range p.Statement {
		for _, r := range strings.Split(list(st.Resource), ", ") {
			if _, prefix, ok := strings.Cut(r, ":log-stream:"); ok && !slices.Contains(streams, prefix) {
				streams = append(streams, prefix)
			}
		}
	}
	for _, want := range []string{d.mgmt.id + "_CloudTrail_" + OrgRegions[0] + "*", d.orgID + "_*"} {
		if !slices.Contains(streams, want) {
			return Outcome{}, fmt.Errorf("role policy %s allows the streams %v; want %s among them", policyName, streams, want)
		}
	}
	// The role's boundary, the ceiling of that policy, admits this organization's streams and no other's.
	bounds, err := mgmt.DeliveryBoundaryStreams(ctx)
	if err != nil {
		return Outcome{}, err
	}
	if !slices.Contains(bounds, d.orgID+"_*") || slices.ContainsFunc(bounds, func(s string) bool { return strings.HasPrefix(s, "o-*") }) {
		return Outcome{}, fmt.Errorf("the delivery boundary admits the streams %v; want %s_* and no o-* wildcard", bounds, d.orgID)
	}
	group, _, err := mgmt.TrailLink(ctx, arn)
	if err != nil || group == "" {
		return Outcome{}, fmt.Errorf("the organization trail is not linked (%q, %v)", group, err)
	}
	out, err := mgmt.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil {
		return Outcome{}, err
	}
	if d.orgTrailTr, err = json.Marshal(out.Trail); err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: "SUCCESS: " + orgTrailName + " linked; its role policy allows both stream prefixes",
		Details: []string{
			"a stack in the management account declares the organization trail; its provider reads the " +
				"organization id (DescribeOrganization: " + d.orgID + ") and writes " + policyName + " on " + roleName + ":",
			"  log streams " + strings.Join(streams, " and "),
			"  under the boundary " + testbed.DeliveryBoundaryName + ": " + strings.Join(bounds, " and ") +
				" (this organization's only: the standalone stack with trailguard:org:organizationId)",
		},
	}, nil
}

func (d *orgDemo) memberView(ctx context.Context) (Outcome, error) {
	in := d.instance("payments", "us-east-1")
	// What AWS answers a member: its own trails (and shadow copies) and the organization trail's copy, owned by the
	// management account. moto keeps an organization trail in the management account only, so the member's
	// DescribeTrails is answered with moto's list plus the organization trail.
	own, err := in.op.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return Outcome{}, err
	}
	var trails []string
	var names []string
	for _, t := range own.TrailList {
		b, err := json.Marshal(t)
		if err != nil {
			return Outcome{}, err
		}
		trails = append(trails, string(b))
		names = append(names, aws.ToString(t.Name))
	}
	trails = append(trails, string(d.orgTrailTr)) // the SDK's field names are the protocol's
	in.faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "DescribeTrails", Times: 1,
		Reply: `{"trailList":[` + strings.Join(trails, ",") + `]}`})
	before := len(d.s.Inbox().Messages(CentralMailbox))
	in.rec.Reset()
	ev, err := memberEvent(filepath.Join("events", "remediator", "sweep.json"), in, "")
	if err != nil {
		return Outcome{}, err
	}
	if err := d.invoke(ctx, in, Remediator, ev); err != nil {
		return Outcome{}, err
	}
	if in.faults.Injected() == 0 {
		return Outcome{}, errors.New("the sweep never read DescribeTrails: it did not see the organization trail")
	}
	if w := in.rec.ResourceWrites(); len(w) > 0 {
		return Outcome{}, fmt.Errorf("%s's sweep wrote %v", in, w)
	}
	if _, found, err := in.registry.Get(ctx, d.orgTrail); err != nil || found {
		return Outcome{}, fmt.Errorf("%s recorded the organization trail (found %t, %v)", in, found, err)
	}
	// moto posts to an http subscriber within Publish, so a notification of this sweep has arrived by now.
	if after := d.s.Inbox().Messages(CentralMailbox); len(after) != before {
		return Outcome{}, fmt.Errorf("the sweep sent %d notification(s): %q", len(after)-before, after[len(after)-1].Subject)
	}
	logs, err := in.lambdas[Remediator].Tail(50)
	if err != nil {
		return Outcome{}, err
	}
	for _, l := range logs {
		if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
			return Outcome{}, fmt.Errorf("%s's remediator logged: %s", in, l)
		}
	}
	return Outcome{
		Summary: "swept: " + orgTrailName + " left to account " + d.mgmt.id + ", no write, no record, no notification",
		Details: []string{
			fmt.Sprintf("%s's DescribeTrails: %s and %s (the organization trail of %s; moto shows it only to "+
				"its owner, so the member's answer is given as AWS would give it)", in, strings.Join(names, ", "), orgTrailName, d.mgmt.id),
			fmt.Sprintf("%d AWS calls by the sweep, all reads or its own registry's", len(in.rec.Calls())),
		},
	}, nil
}
