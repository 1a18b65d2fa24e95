// Package cis holds the CIS monitoring pack: the metric filter patterns of AWS Security Hub's controls
// CloudWatch.1-14 and of the CIS AWS Foundations Benchmark's monitoring section, each with the page it comes from,
// the names trailguard gives the filters, metrics and alarms it keeps on a trail's log group, and the alarm settings
// Security Hub and CIS ask for. It is data and pure functions: the engine (internal/delivery) writes the pack, the
// cis-check command (cmd/cis-check) evaluates an account against it.
//
// The patterns are compared byte for byte with a copy of the source (testdata) and with docs/cis.md by this
// package's tests: Security Hub fails a filter whose pattern has "additional fields or terms", and scanners compare
// strings, so a pattern is never reformatted.
package cis

// Control is one metric filter and alarm the pack keeps.
type Control struct {
	// ID is the control it satisfies: "CloudWatch.1"-"CloudWatch.14" (Security Hub), "CIS.4.15" for the CIS
	// Organizations-changes recommendation no Security Hub control covers, "CIS.v5.4.10" for a CIS v5 variant.
	ID string
	// Key is the control's short name in every name trailguard derives (filter, metric, alarm).
	Key string
	// Title says what the filter counts.
	Title string
	// Pattern is the filter pattern, byte for byte as the source prints it.
	Pattern string
	// Requirements are the CIS recommendations (and versions) the source maps the control to.
	Requirements string
	// Source is the page the pattern is copied from.
	Source string
	// Todo says what a person who receives the alarm should do.
	Todo string
	// Variant marks a control of the opt-in CIS v5 set: kept only with PackCISv5, beside the Security Hub ones.
	Variant bool
}

// securityHubGuide is the page that prints CloudWatch.1-14's patterns; each control has its own anchor.
const securityHubGuide = "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"

// cisBenchmark is where the CIS AWS Foundations Benchmark is published (free registration). Its text is quoted by
// the public CIS-derived profiles named in docs/cis.md; the pattern below is the one they agree on.
const cisBenchmark = "https://www.cisecurity.org/benchmark/amazon_web_services"

// Controls lists the pack in Security Hub's order, then CIS 4.15, then the CIS v5 variants.
var Controls = []Control{
	{ID: "CloudWatch.1", Key: "root-usage", Title: `usage of the "root" user`,
		Pattern:      `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`,
		Requirements: "CIS v1.2.0 1.1, 3.3; CIS v1.4.0 1.7, 4.3", Source: securityHubGuide + "#cloudwatch-1",
		Todo: "find who used the root user's credentials and why; rotate them and check the root user's MFA"},
	{ID: "CloudWatch.2", Key: "unauthorized-api-calls", Title: "unauthorized API calls",
		Pattern:      `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`,
		Requirements: "CIS v1.2.0 3.1", Source: securityHubGuide + "#cloudwatch-2",
		Todo: "look up the denied calls in the trail: a principal probing for permissions, or a broken deployment"},
	{ID: "CloudWatch.3", Key: "console-signin-without-mfa", Title: "Management Console sign-in without MFA",
		Pattern:      `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`,
		Requirements: "CIS v1.2.0 3.2", Source: securityHubGuide + "#cloudwatch-3",
		Todo: "find the IAM user who signed in without MFA; require MFA for console users"},
	{ID: "CloudWatch.4", Key: "iam-policy-changes", Title: "IAM policy changes",
		Pattern:      `{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}`,
		Requirements: "CIS v1.2.0 3.4; CIS v1.4.0 4.4", Source: securityHubGuide + "#cloudwatch-4",
		Todo: "check that the IAM policy change was intended and reviewed"},
	{ID: "CloudWatch.5", Key: "cloudtrail-changes", Title: "CloudTrail configuration changes",
		Pattern:      `{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}`,
		Requirements: "CIS v1.2.0 3.5; CIS v1.4.0 4.5", Source: securityHubGuide + "#cloudwatch-5",
		Todo: "check who changed a trail; trailguard's own alert says whether it repaired the delivery"},
	{ID: "CloudWatch.6", Key: "console-auth-failures", Title: "Management Console authentication failures",
		Pattern:      `{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`,
		Requirements: "CIS v1.2.0 3.6; CIS v1.4.0 4.6", Source: securityHubGuide + "#cloudwatch-6",
		Todo: "look for repeated failures from one source: a password being guessed"},
	{ID: "CloudWatch.7", Key: "cmk-disable-or-deletion", Title: "disabling or scheduled deletion of customer managed keys",
		Pattern:      `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`,
		Requirements: "CIS v1.2.0 3.7; CIS v1.4.0 4.7", Source: securityHubGuide + "#cloudwatch-7",
		Todo: "cancel an unintended key deletion (CancelKeyDeletion) before its waiting period ends: data encrypted with it is lost after"},
	{ID: "CloudWatch.8", Key: "s3-bucket-policy-changes", Title: "S3 bucket policy changes",
		Pattern:      `{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}`,
		Requirements: "CIS v1.2.0 3.8; CIS v1.4.0 4.8", Source: securityHubGuide + "#cloudwatch-8",
		Todo: "check that the bucket's policy, ACL, CORS, lifecycle or replication change was intended"},
	{ID: "CloudWatch.9", Key: "config-changes", Title: "AWS Config configuration changes",
		Pattern:      `{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}`,
		Requirements: "CIS v1.2.0 3.9; CIS v1.4.0 4.9", Source: securityHubGuide + "#cloudwatch-9",
		Todo: "check that AWS Config still records and delivers"},
	{ID: "CloudWatch.10", Key: "security-group-changes", Title: "security group changes",
		Pattern:      `{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}`,
		Requirements: "CIS v1.2.0 3.10; CIS v1.4.0 4.10", Source: securityHubGuide + "#cloudwatch-10",
		Todo: "check that no security group was opened to the internet by mistake"},
	{ID: "CloudWatch.11", Key: "nacl-changes", Title: "changes to network access control lists (NACL)",
		Pattern:      `{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}`,
		Requirements: "CIS v1.2.0 3.11; CIS v1.4.0 4.11", Source: securityHubGuide + "#cloudwatch-11",
		Todo: "check that the network ACL change was intended"},
	{ID: "CloudWatch.12", Key: "network-gateway-changes", Title: "changes to network gateways",
		Pattern:      `{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}`,
		Requirements: "CIS v1.2.0 3.12; CIS v1.4.0 4.12", Source: securityHubGuide + "#cloudwatch-12",
		Todo: "check that no network was connected to the internet or a customer gateway by mistake"},
	{ID: "CloudWatch.13", Key: "route-table-changes", Title: "route table changes",
		Pattern:      `{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}`,
		Requirements: "CIS v1.2.0 3.13; CIS v1.4.0 4.13", Source: securityHubGuide + "#cloudwatch-13",
		Todo: "check that traffic was not rerouted by mistake"},
	{ID: "CloudWatch.14", Key: "vpc-changes", Title: "VPC changes",
		Pattern:      `{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}`,
		Requirements: "CIS v1.2.0 3.14; CIS v1.4.0 4.14", Source: securityHubGuide + "#cloudwatch-14",
		Todo: "check that the VPC or peering change was intended"},
	{ID: "CIS.4.15", Key: "organizations-changes", Title: "AWS Organizations changes",
		Pattern:      `{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }`,
		Requirements: "CIS v1.4.0-v3.0.0 4.15; v4.0.1/v5.0.0 4.15; v6/v7 5.15 (no Security Hub control)", Source: cisBenchmark,
		Todo: "check that the change to the organization (accounts, OUs, SCPs) was intended"},
	{ID: "CIS.v5.4.10", Key: "security-group-changes-v5", Title: "security group changes, ModifySecurityGroupRules included",
		Pattern:      `{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || ($.eventName = ModifySecurityGroupRules) }`,
		Requirements: "CIS v5.0.0 4.10 (v6/v7 5.10)", Source: cisBenchmark, Variant: true,
		Todo: "check that no security group was opened to the internet by mistake"},
}
