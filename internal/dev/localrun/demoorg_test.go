package localrun_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/localrun"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// The organization story runs end to end, every step passes and says what the issue asks it to show; a check that
// cannot hold after the last step fails the run at that step, so a passing run is no formality.
func TestDemoOrgTellsTheOrganizationStory(t *testing.T) {
	testbed.NeedMoto(t)
	var out bytes.Buffer
	// Deeper than a line may be wide: the output must not depend on where the run keeps its logs.
	sum := localrun.DemoOrg(context.Background(), &out, localrun.WithLogDir(filepath.Join(t.TempDir(), strings.Repeat("deep-folder/", 10))))
	t.Log("\n" + out.String())

	require.True(t, sum.OK(), "every step passes: %v", sum.Err())
	require.Len(t, sum.Results, 11)
	lines, results := stepLines(out.String()), resultLines(out.String())
	require.Len(t, lines, 11, "one line per step, when it starts")
	require.Len(t, results, 11, "one result line per step, when it ends")
	text := out.String()
	assertFits(t, text)
	accounts := regexp.MustCompile(`member (payments|analytics) +(\d{12}) in OU workloads`).FindAllStringSubmatch(text, -1)
	require.Len(t, accounts, 2, "two members, with the ids moto's Organizations gave them")
	ids := map[string]string{}
	for _, m := range accounts {
		assert.NotEqual(t, testbed.Account, m[2], "a member is not the management account")
		ids[m[1]] = m[2]
	}
	assert.Contains(t, results[2], "4 stack instances CURRENT (SUCCEEDED): 2 members × 2 regions")
	assert.Contains(t, text, "What moto cannot do: run a function")
	assert.Contains(t, results[3], "9 functions running")
	for _, region := range localrun.OrgRegions {
		assert.Regexp(t, `payments +`+region+`: as `+ids["payments"]+` role trailguard-RemediatorRole`, text)
		assert.Regexp(t, `analytics +`+region+`: as `+ids["analytics"]+` role trailguard-RemediatorRole`, text)
	}
	assert.Contains(t, text, "Subject: trailguard adopted trail payments-trail (Sweep) in "+ids["payments"]+" us-east-1")
	assert.Contains(t, text, "Subject: trailguard adopted trail analytics-trail (Sweep) in "+ids["analytics"]+" eu-west-1")
	assert.Contains(t, text, "payments eu-west-1: swept, nothing to adopt")
	assert.Regexp(t, `Subject: trailguard repaired trail analytics-trail \(UpdateTrail by alice\?\) in `+ids["analytics"]+`\s+eu-west-1`, text)
	// The member's metrics reach the central account too: its decision event, forwarded by the member stack's
	// rule to the central bus, lands in the central log group naming the member's account and region.
	assert.Regexp(t, `central log group /trailguard/organization/trailguard-org: analytics-trail Repaired=1 from\s+`+
		ids["analytics"]+`\s+eu-west-1`, text)
	assert.Regexp(t, `log streams 123456789012_CloudTrail_us-east-1\* and o-[a-z0-9]+_\*`, text)
	assert.Regexp(t, `under the boundary \S+: 123456789012_CloudTrail_\* and\s+o-[a-z0-9]+_\*\s+\(this\s+organization's only`, text)
	assert.Contains(t, results[7], "org-trail left to account 123456789012, no write, no record, no notification")
	// CloudTrail's delegated administrator: by ARN only, both prefixes, a repair of the management account's
	// unlink by the sweep, and the trail handed back by Delete.
	admin := regexp.MustCompile(`account security (\d{12}), outside the OU`).FindStringSubmatch(text)
	require.Len(t, admin, 2)
	assert.Contains(t, results[8], "SUCCESS: org-trail-security of 123456789012 linked by ARN from "+admin[1])
	assert.Regexp(t, `by name: FAILED: an organization trail of the management account 123456789012 must be named by\s+its ARN here`, text)
	assert.Regexp(t, `in\s+`+admin[1]+`:\s+log streams 123456789012_CloudTrail_us-east-1\* and o-[a-z0-9]+_\*`, text)
	assert.Contains(t, text, "Subject: trailguard repaired trail org-trail-security (Sweep) in "+admin[1]+" us-east-1")
	assert.Contains(t, results[10], "SUCCESS: org-trail-security handed back unlinked, still the organization's trail")
	assertMotoStopped(t, text)

	var summary bytes.Buffer
	localrun.PrintSummary(&summary, "demo-org", sum)
	assert.Regexp(t, `^demo-org: all 11 steps passed in \d+`, summary.String())
	assert.Less(t, strings.Count(text, "\n"), 240, "the story stays readable")
}

func TestDemoOrgFailsAtTheStepWhoseCheckFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the organization story up to step 5")
	}
	testbed.NeedMoto(t)
	var out bytes.Buffer
	// After step 5 the central topic has the adoptions' notifications: a check that it has none cannot pass.
	sum := localrun.DemoOrg(context.Background(), &out, localrun.WithLogDir(t.TempDir()),
		localrun.WithCheck(5, "nothing adopted", func(ctx context.Context, s *localrun.Session) error {
			if n := len(s.Inbox().Messages(localrun.CentralMailbox)); n > 0 {
				return errors.New("the central topic received notifications")
			}
			return nil
		}))
	require.False(t, sum.OK())
	var se *localrun.StepError
	require.ErrorAs(t, sum.Err(), &se)
	assert.Equal(t, 5, se.N)
	assert.Equal(t, 4, sum.Passed())
	for _, r := range sum.Results[5:] {
		assert.ErrorIs(t, r.Err, localrun.ErrSkipped)
	}
	assert.Regexp(t, `(?m)^  ✗ FAILED: check "nothing adopted": the central topic received notifications`, out.String())
	assertMotoStopped(t, out.String())
}
