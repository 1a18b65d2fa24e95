package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailguard/trailguard/internal/delivery"
	"github.com/trailguard/trailguard/internal/dev/testbed"
	"github.com/trailguard/trailguard/internal/lambdaenv"
)

// The CloudTrail delegated administrator's part of the organization story (docs/organizations.md, "From
// CloudTrail's delegated administrator"): an account outside the StackSet's OUs, registered by the management
// account as CloudTrail's delegated administrator, runs the standalone provider stack with
// trailguard:org:managementAccountId and wires, guards and hands back an organization trail of the management
// account by its ARN. moto has no CloudTrail delegated administrator: testbed.OrgAdmin models it in front of moto,
// and the security account's functions and operator call through it.
const (
	adminAccountName = "security"
	adminStackName   = "security-trails"
	adminTrailName   = "org-trail-security"
)

// adminDemo is that part's state.
type adminDemo struct {
	model    *testbed.OrgAdmin
	id       string
	op       *testbed.AWS // the security account's operator, through the model
	mgmt     *testbed.AWS // the management account, through the model
	trailARN string
	delivery testbed.AdministratorDelivery
	group    string // the log group the organization trail delivers to, in the security account
}

func (d *orgDemo) adminProvider() *Lambda   { return d.s.Function(adminAccountName + "-provider") }
func (d *orgDemo) adminRemediator() *Lambda { return d.s.Function(adminAccountName + "-remediator") }

func (d *orgDemo) delegatedAdmin(ctx context.Context) (Outcome, error) {
	model, err := testbed.NewOrgAdmin(d.s.MotoURL())
	if err != nil {
		return Outcome{}, fmt.Errorf("the delegated administrator's model in front of moto: %w", err)
	}
	d.s.OnClose(model.Close)
	a := &adminDemo{model: model}
	d.admin = a
	region := OrgRegions[0]
	mgmtCfg := d.s.moto.Config(region)
	mgmtCfg.BaseEndpoint = aws.String(model.URL())
	a.mgmt = testbed.NewAWS(mgmtCfg)
	created, err := a.mgmt.Organizations.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(adminAccountName),
		Email: aws.String(adminAccountName + "@example.com")})
	if err != nil {
		return Outcome{}, fmt.Errorf("create account %s: %w", adminAccountName, err)
	}
	a.id = aws.ToString(created.CreateAccountStatus.AccountId)
	if err := a.mgmt.RegisterCloudTrailAdministrator(ctx, a.id); err != nil {
		return Outcome{}, err
	}
	cfg, err := d.s.moto.AssumeAccount(ctx, a.id, region, model.URL())
	if err != nil {
		return Outcome{}, err
	}
	a.op = testbed.NewAWS(cfg)
	// The standalone provider stack in the security account, deployed with the organization and its management
	// account: registry table, delivery role and boundary, and its two functions.
	if err := a.op.CreateRegistryTable(ctx, testbed.RegistryTable); err != nil {
		return Outcome{}, err
	}
	if a.delivery, err = a.op.CreateAdministratorDeliveryRole(ctx, a.id, d.orgID, d.mgmt.id); err != nil {
		return Outcome{}, err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return Outcome{}, err
	}
	for _, fn := range []string{Provider, Remediator} {
		env := append(d.s.moto.Env(region), "AWS_ENDPOINT_URL="+model.URL(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey, "AWS_SESSION_TOKEN="+creds.SessionToken,
			lambdaenv.RegistryTable+"="+testbed.RegistryTable, lambdaenv.TopicARN+"="+d.topicARN,
			lambdaenv.DeliveryRoleARN+"="+a.delivery.RoleARN, lambdaenv.DeliveryBoundaryARN+"="+a.delivery.BoundaryARN,
			lambdaenv.BoundaryOrganizationID+"="+d.orgID, lambdaenv.ManagementAccountID+"="+d.mgmt.id)
		if fn == Provider {
			env = append(env, lambdaenv.LocalRun+"=true")
		}
		fnARN := "arn:aws:lambda:" + region + ":" + a.id + ":function:trailguard-" + fn
		if _, err := d.s.StartInstance(adminAccountName+"-"+fn, fn, fnARN, env); err != nil {
			return Outcome{}, err
		}
	}
	// An organization trail the management account created for the security team, whose owner lets the security
	// account's stack manage it (the ownership rule: the trail's consent tag, naming the stack by its id).
	if a.trailARN, err = a.mgmt.CreateTrail(ctx, adminTrailName, testbed.TrailOptions{Organization: true}); err != nil {
		return Outcome{}, err
	}
	if err := a.mgmt.TagTrail(ctx, a.trailARN, delivery.TagManagedBy, d.adminStackID()); err != nil {
		return Outcome{}, err
	}

	// By name, CloudTrail looks in the security account: the provider says to use the ARN.
	byName, err := d.adminRequest(ctx, "create.json", adminTrailName, "")
	if err != nil {
		return Outcome{}, err
	}
	if byName.Body.Status != "FAILED" || !strings.Contains(byName.Body.Reason, "must be named by its ARN") {
		return Outcome{}, fmt.Errorf("a Create naming the trail by name got %s: %s", byName.Body.Status, byName.Body.Reason)
	}
	got, err := d.adminRequest(ctx, "create.json", a.trailARN, "")
	if err != nil {
		return Outcome{}, err
	}
	if got.Body.Status != "SUCCESS" || got.Body.PhysicalResourceID != a.trailARN {
		return Outcome{}, fmt.Errorf("CloudFormation received %s for %s: %s", got.Body.Status, got.Body.PhysicalResourceID, got.Body.Reason)
	}
	roleName, _ := got.Body.Data["RoleName"].(string)
	policyName, _ := got.Body.Data["PolicyName"].(string)
	doc, err := a.op.RolePolicy(ctx, roleName, policyName)
	if err != nil {
		return Outcome{}, err
	}
	streams := policyStreams(doc)
	for _, want := range []string{d.mgmt.id + "_CloudTrail_" + region + "*", d.orgID + "_*"} {
		if !slices.Contains(streams, want) {
			return Outcome{}, fmt.Errorf("role policy %s allows the streams %v; want %s among them", policyName, streams, want)
		}
	}
	group, role, err := a.mgmt.TrailLink(ctx, a.trailARN)
	if err != nil {
		return Outcome{}, err
	}
	if !strings.Contains(group, ":"+a.id+":log-group:") || role != a.delivery.RoleARN {
		return Outcome{}, fmt.Errorf("the organization trail sends to %q with %q, want the security account's group and role", group, role)
	}
	a.group = group
	return Outcome{
		Summary: "SUCCESS: " + adminTrailName + " of " + d.mgmt.id + " linked by ARN from " + a.id,
		Details: []string{
			fmt.Sprintf("account %s %s, outside the OU, registered by the management account as CloudTrail's "+
				"delegated administrator (aws cloudtrail register-organization-delegated-admin); its standalone stack "+
				"has trailguard:org:managementAccountId=%s", adminAccountName, a.id, d.mgmt.id),
			"by name: FAILED: " + byARNRule(byName.Body.Reason),
			"by ARN:  SUCCESS; " + policyName + " on " + roleName + " in " + a.id + ":",
			"  log streams " + strings.Join(streams, " and "),
			"the management account's view of the trail: log group " + ShortARN(group),
			"(moto has no CloudTrail delegated administrator: the test bed's model answers its calls as AWS documents)",
		},
	}, nil
}

// byARNRule is the part of the provider's reason that says what to do: use the ARN.
func byARNRule(reason string) string {
	if _, rule, ok := strings.Cut(reason, "; "); ok {
		rule, _, _ = strings.Cut(rule, ", e.g.")
		return rule
	}
	return reason
}

// policyStreams are the log-stream parts of a role policy's resources.
func policyStreams(doc string) []string {
	var p struct{ Statement []struct{ Resource any } }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil
	}
	var streams []string
	for _, st := range p.Statement {
		for _, r := range strings.Split(list(st.Resource), ", ") {
			if _, prefix, ok := strings.Cut(r, ":log-stream:"); ok && !slices.Contains(streams, prefix) {
				streams = append(streams, prefix)
			}
		}
	}
	return streams
}

// adminStackID is the stack security-trails of the security account, which declares the resource.
func (d *orgDemo) adminStackID() string {
	return "arn:aws:cloudformation:" + OrgRegions[0] + ":" + d.admin.id + ":stack/" + adminStackName + "/5b8e6a20-c0a1-11ef-9a8c-0e2d3f4a5b6c"
}

// adminRequest sends the security account's provider a CloudFormation request of events/provider/name for trail,
// from the stack security-trails of that account, and returns what CloudFormation received.
func (d *orgDemo) adminRequest(ctx context.Context, name, trail, physicalID string) (testbed.CFNResponse, error) {
	raw, err := ReadEvent(filepath.Join("events", "provider", name))
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return testbed.CFNResponse{}, err
	}
	ev["StackId"] = d.adminStackID()
	ev["ResourceProperties"].(map[string]any)["TrailName"] = trail
	if physicalID != "" {
		ev["PhysicalResourceId"] = physicalID
	}
	if raw, err = json.Marshal(ev); err != nil {
		return testbed.CFNResponse{}, err
	}
	if raw, err = WithLocalResponseURL(raw, d.s.Responses()); err != nil {
		return testbed.CFNResponse{}, err
	}
	res, err := d.adminProvider().Invoke(ctx, raw)
	if err != nil {
		return testbed.CFNResponse{}, err
	}
	if res.Error != nil {
		return testbed.CFNResponse{}, fmt.Errorf("the provider returned an error to Lambda: %w", res.Error)
	}
	return d.s.Responses().WaitFor(5 * time.Second)
}

func (d *orgDemo) adminRepair(ctx context.Context) (Outcome, error) {
	a := d.admin
	// Someone in the management account unlinks it: CloudTrail records that call in the management account, where
	// the security account's rules do not see it; its sweep reads the trail by ARN.
	if _, err := a.mgmt.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(adminTrailName),
		CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")}); err != nil {
		return Outcome{}, fmt.Errorf("unlink %s in the management account: %w", adminTrailName, err)
	}
	raw, err := ReadEvent(filepath.Join("events", "remediator", "sweep.json"))
	if err != nil {
		return Outcome{}, err
	}
	ev := strings.ReplaceAll(string(raw), testbed.Account, a.id)
	res, err := d.adminRemediator().Invoke(ctx, []byte(ev))
	if err != nil {
		return Outcome{}, err
	}
	if res.Error != nil {
		return Outcome{}, fmt.Errorf("the remediator returned an error: %w", res.Error)
	}
	group, _, err := a.mgmt.TrailLink(ctx, a.trailARN)
	if err != nil {
		return Outcome{}, err
	}
	if group != a.group {
		return Outcome{}, fmt.Errorf("not repaired: %s sends to %q, want %q", adminTrailName, group, a.group)
	}
	lines, err := d.centralMessages(1, func(m testbed.SNSMessage) error {
		if !strings.Contains(m.Subject, "repaired trail "+adminTrailName) || !strings.HasSuffix(m.Subject, " in "+a.id+" "+OrgRegions[0]) {
			return fmt.Errorf("notification %q is not the security account's repair of %s", m.Subject, adminTrailName)
		}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{
		Summary: "relinked from " + a.id + " by its sweep; reported to the central topic",
		Details: append([]string{
			"the management account clears the trail's CloudWatch Logs settings (its UpdateTrail event stays in the " +
				"management account); the security account's sweep reads the trail by ARN, finds it unlinked, relinks it",
		}, lines...),
	}, nil
}

func (d *orgDemo) adminDelete(ctx context.Context) (Outcome, error) {
	a := d.admin
	got, err := d.adminRequest(ctx, "delete.json", a.trailARN, a.trailARN)
	if err != nil {
		return Outcome{}, err
	}
	if got.Body.Status != "SUCCESS" {
		return Outcome{}, fmt.Errorf("the Delete got %s: %s", got.Body.Status, got.Body.Reason)
	}
	group, role, err := a.mgmt.TrailLink(ctx, a.trailARN)
	if err != nil {
		return Outcome{}, err
	}
	if group != "" || role != "" {
		return Outcome{}, fmt.Errorf("not handed back: %s still sends to %q with %q", adminTrailName, group, role)
	}
	tr, err := a.mgmt.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(a.trailARN)})
	if err != nil {
		return Outcome{}, err
	}
	if !aws.ToBool(tr.Trail.IsOrganizationTrail) {
		return Outcome{}, fmt.Errorf("%s is no longer an organization trail", adminTrailName)
	}
	if _, found, err := a.op.LogGroup(ctx, strings.TrimSuffix(a.group[strings.Index(a.group, ":log-group:")+len(":log-group:"):], ":*")); err != nil || !found {
		return Outcome{}, fmt.Errorf("the log group and its events were not kept (found %t, %v)", found, err)
	}
	return Outcome{
		Summary: "SUCCESS: " + adminTrailName + " handed back unlinked, still the organization's trail",
		Details: []string{
			"the security account's Delete unlinks the trail by ARN, removes its policy and the registration, keeps the " +
				"log group and its events; the trail stays the management account's organization trail (only that " +
				"account may convert it to a single-account trail)",
		},
	}, nil
}
