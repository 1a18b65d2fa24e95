package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// OrgAdmin models CloudTrail's delegated administrator, which moto 5.2.1 lacks, in front of moto: put its URL where
// moto's would be (a process's AWS_ENDPOINT_URL, a Config's BaseEndpoint). It is the one place the test bed
// emulates these rules, each from AWS's documentation (docs/organizations.md lists the sources):
//
//   - Registration (CloudTrail API reference, RegisterOrganizationDelegatedAdmin and
//     DeregisterOrganizationDelegatedAdmin): only the management account registers or deregisters a member
//     account (NotOrganizationManagementAccountException); the management account itself cannot be registered
//     (CannotDelegateManagementAccountException); an account outside the organization is AccountNotFoundException,
//     a second registration AccountRegisteredException, deregistering an account that is not registered
//     AccountNotRegisteredException. moto answers "not implemented".
//   - organizations:ListDelegatedAdministrators for cloudtrail.amazonaws.com answers the registered accounts to the
//     management account and to a delegated administrator, AccessDeniedException to anyone else (the Organizations
//     API reference: callable from the management account or a delegated administrator). moto refuses that
//     service principal.
//   - A delegated administrator acts on the organization's trails as the management account, which owns them
//     ("Organization delegated administrator", CloudTrail user guide): a CloudTrail call of a registered
//     administrator that names, by ARN, an organization trail of the management account is answered as the
//     management account's. By name it is not found (the name is looked up in the caller's own account, as moto
//     already does), and so is a trail of the management account that is not an organization trail.
//   - Only the management account converts an organization trail to a single-account trail: UpdateTrail with
//     IsOrganizationTrail false from the administrator is refused. The error code AWS uses is not documented;
//     the model answers OperationNotPermittedException, a CloudTrail error for an operation not permitted.
//
// What moto itself cannot do on the forwarded call is bridged here too: moto's StartLogging and StopLogging take
// only a trail name, so the ARN such a call names is turned into the name before it reaches the management
// account's trails.
type OrgAdmin struct {
	srv     *http.Server
	url     string
	target  string
	forward *httputil.ReverseProxy
	// management is the organization's management account, moto's default account (Account).
	management string

	mu       sync.Mutex
	admins   []string          // registered CloudTrail delegated administrators
	accounts map[string]string // access key id → account, as moto's STS says
}

// NewOrgAdmin starts the model on a free 127.0.0.1 port in front of target (moto's URL, or a FaultProxy's). The
// management account is moto's default account; the organization is whatever moto's Organizations holds for it.
func NewOrgAdmin(target string) (*OrgAdmin, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &OrgAdmin{url: "http://" + l.Addr().String(), target: target, forward: forwarder(u), management: Account,
		accounts: map[string]string{}}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.srv.Serve(l) }()
	return m, nil
}

// URL is the model's endpoint.
func (m *OrgAdmin) URL() string { return m.url }

// Close stops the model.
func (m *OrgAdmin) Close() { _ = m.srv.Close() }

// Admins lists the registered CloudTrail delegated administrators.
func (m *OrgAdmin) Admins() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.admins)
}

// The X-Amz-Target prefixes of the two JSON APIs the model reads.
const (
	cloudTrailTarget    = "CloudTrail_20131101."
	organizationsTarget = "AWSOrganizationsV20161128."
)

func (m *OrgAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	op := r.Header.Get("X-Amz-Target")
	// The SDK may send CloudTrail's target with its long namespace prefix.
	if i := strings.Index(op, cloudTrailTarget); i > 0 {
		op = op[i:]
	}
	var in map[string]any
	if strings.HasPrefix(op, cloudTrailTarget) || strings.HasPrefix(op, organizationsTarget) {
		_ = json.Unmarshal(body, &in)
	}
	if reply := m.answer(r, op, in); reply != nil {
		reply.write(w)
		return
	}
	if strings.HasPrefix(op, cloudTrailTarget) {
		var refused *reply
		if body, refused = m.asManagement(r, strings.TrimPrefix(op, cloudTrailTarget), in, body); refused != nil {
			refused.write(w)
			return
		}
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	m.forward.ServeHTTP(w, r)
}

// reply is an answer the model gives itself.
type reply struct {
	status int
	code   string // error type, empty for success
	msg    string
	body   any
}

func (rp *reply) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "testbed-orgadmin")
	if rp.code == "" {
		b, _ := json.Marshal(rp.body)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return
	}
	w.WriteHeader(rp.status)
	b, _ := json.Marshal(map[string]string{"__type": rp.code, "message": rp.msg})
	_, _ = w.Write(b)
}

func refusal(code, format string, a ...any) *reply {
	return &reply{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, a...)}
}

// answer serves the calls moto does not implement: the registrations and their listing.
func (m *OrgAdmin) answer(r *http.Request, op string, in map[string]any) *reply {
	switch op {
	case cloudTrailTarget + "RegisterOrganizationDelegatedAdmin", cloudTrailTarget + "DeregisterOrganizationDelegatedAdmin":
		return m.register(r, op == cloudTrailTarget+"RegisterOrganizationDelegatedAdmin", in)
	case organizationsTarget + "ListDelegatedAdministrators":
		if in["ServicePrincipal"] != "cloudtrail.amazonaws.com" {
			return nil
		}
		caller, err := m.caller(r)
		if err != nil {
			return refusal("ServiceException", "%v", err)
		}
		if caller != m.management && !slices.Contains(m.Admins(), caller) {
			return refusal("AccessDeniedException", "account %s is neither the management account nor a delegated administrator", caller)
		}
		admins := []map[string]any{}
		for _, id := range m.Admins() {
			admins = append(admins, map[string]any{"Id": id, "Status": "ACTIVE"})
		}
		return &reply{body: map[string]any{"DelegatedAdministrators": admins}}
	}
	return nil
}

func (m *OrgAdmin) register(r *http.Request, add bool, in map[string]any) *reply {
	caller, err := m.caller(r)
	if err != nil {
		return refusal("ServiceException", "%v", err)
	}
	if caller != m.management {
		return refusal("NotOrganizationManagementAccountException", "account %s is not the organization's management account", caller)
	}
	id, _ := in["MemberAccountId"].(string)
	if !add {
		id, _ = in["DelegatedAdminAccountId"].(string)
	}
	if id == m.management {
		return refusal("CannotDelegateManagementAccountException", "the management account cannot be a delegated administrator")
	}
	members, err := m.members(r.Context())
	if err != nil {
		return refusal("ServiceException", "%v", err)
	}
	if !slices.Contains(members, id) {
		return refusal("AccountNotFoundException", "account %q is not a member of the organization", id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	registered := slices.Contains(m.admins, id)
	switch {
	case add && registered:
		return refusal("AccountRegisteredException", "account %s is already the delegated administrator", id)
	case !add && !registered:
		return refusal("AccountNotRegisteredException", "account %s is not a delegated administrator", id)
	case add:
		m.admins = append(m.admins, id)
	default:
		m.admins = slices.DeleteFunc(m.admins, func(a string) bool { return a == id })
	}
	return &reply{body: map[string]any{}}
}

// trailFields are the request fields that name a trail, by operation: a name or an ARN.
var trailFields = []string{"Name", "TrailName", "ResourceId"}

// asManagement re-signs, as the management account, a registered administrator's call that names an organization
// trail of the management account by ARN, and returns the body to forward, or the model's refusal.
func (m *OrgAdmin) asManagement(r *http.Request, op string, in map[string]any, body []byte) ([]byte, *reply) {
	trail := ""
	for _, f := range trailFields {
		if v, ok := in[f].(string); ok {
			trail = v
		}
	}
	if ids, ok := in["ResourceIdList"].([]any); ok && len(ids) == 1 {
		trail, _ = ids[0].(string)
	}
	parts := strings.Split(trail, ":")
	if len(parts) < 6 || parts[4] != m.management {
		return body, nil
	}
	caller, err := m.caller(r)
	if err != nil || caller == m.management || !slices.Contains(m.Admins(), caller) || !m.organizationTrail(r, trail) {
		return body, nil // answered in the caller's own account: not found
	}
	if op == "UpdateTrail" && in["IsOrganizationTrail"] == false {
		return nil, refusal("OperationNotPermittedException", "only the management account can convert the organization "+
			"trail %s to a single-account trail", trail)
	}
	r.Header.Set("Authorization", credentialRE.ReplaceAllString(r.Header.Get("Authorization"), "${1}"+managementKey+"/"))
	r.Header.Del("X-Amz-Security-Token")
	if op == "StartLogging" || op == "StopLogging" {
		in["Name"] = trail[strings.LastIndex(trail, "/")+1:]
		if b, err := json.Marshal(in); err == nil {
			return b, nil
		}
	}
	return body, nil
}

// managementKey is the access key moto maps to its default account, the management account.
const managementKey = "testing"

var credentialRE = regexp.MustCompile(`(Credential=)[^/]+/`)

// caller is the account a request's access key belongs to, as moto's STS answers it.
func (m *OrgAdmin) caller(r *http.Request) (string, error) {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return "", fmt.Errorf("unsigned request")
	}
	key := strings.SplitN(auth[i+len("Credential="):], "/", 2)[0]
	m.mu.Lock()
	id, ok := m.accounts[key]
	m.mu.Unlock()
	if ok {
		return id, nil
	}
	cfg := m.config(credentials.NewStaticCredentialsProvider(key, "unchecked", r.Header.Get("X-Amz-Security-Token")))
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(r.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("who signed this request: %w", err)
	}
	id = aws.ToString(out.Account)
	m.mu.Lock()
	m.accounts[key] = id
	m.mu.Unlock()
	return id, nil
}

// config is a plain SDK configuration for moto itself (behind the model).
func (m *OrgAdmin) config(creds aws.CredentialsProvider) aws.Config {
	return aws.Config{Region: Region, Credentials: creds, BaseEndpoint: aws.String(m.target)}
}

func (m *OrgAdmin) managementConfig(region string) aws.Config {
	cfg := m.config(credentials.NewStaticCredentialsProvider(managementKey, managementKey, ""))
	cfg.Region = region
	return cfg
}

// members lists the organization's member accounts, as the management account sees them.
func (m *OrgAdmin) members(ctx context.Context) ([]string, error) {
	var ids []string
	p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(m.managementConfig(Region)), &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the organization's accounts: %w", err)
		}
		for _, a := range page.Accounts {
			if id := aws.ToString(a.Id); id != m.management {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// organizationTrail says whether trailARN is an organization trail of the management account.
func (m *OrgAdmin) organizationTrail(r *http.Request, trailARN string) bool {
	region := strings.Split(trailARN, ":")[3]
	out, err := cloudtrail.NewFromConfig(m.managementConfig(region)).GetTrail(r.Context(), &cloudtrail.GetTrailInput{Name: aws.String(trailARN)})
	return err == nil && aws.ToBool(out.Trail.IsOrganizationTrail)
}
