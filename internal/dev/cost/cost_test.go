package cost_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/cost"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func load(t *testing.T, stack string) *cost.Template {
	t.Helper()
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	tpl, err := cost.LoadTemplate(cost.TemplatePath(root, stack))
	require.NoError(t, err)
	return tpl
}

// TestEveryTemplateResourceIsPricedOrFree: each synthesized template the guard deploys per account and region is
// fully understood by the model.
func TestEveryTemplateResourceIsPricedOrFree(t *testing.T) {
	for _, stack := range cost.Templates {
		_, err := cost.Compute(load(t, stack), cost.DefaultTraffic)
		assert.NoError(t, err, stack)
	}
}

// TestANewBilledResourceFailsTheModel: a template that gains a resource type the model does not price (here a
// dashboard, $3 a month) is an error naming it, not a silent zero.
func TestANewBilledResourceFailsTheModel(t *testing.T) {
	tpl := load(t, "trailguard")
	tpl.Resources["Board"] = cost.Resource{Type: "AWS::CloudWatch::Dashboard"}
	_, err := cost.Compute(tpl, cost.DefaultTraffic)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AWS::CloudWatch::Dashboard (Board)")
	assert.Contains(t, err.Error(), "neither prices nor knows to be free")
}

// TestTheEstimateFollowsTheTemplate: what the template declares moves the total: an alarm more costs one alarm's
// price, a sweep every 5 minutes instead of 15 triples the requests, more memory bills more compute.
func TestTheEstimateFollowsTheTemplate(t *testing.T) {
	base, err := cost.Compute(load(t, "trailguard"), cost.DefaultTraffic)
	require.NoError(t, err)

	tpl := load(t, "trailguard")
	tpl.Resources["Extra"] = cost.Resource{Type: "AWS::CloudWatch::Alarm"}
	more, err := cost.Compute(tpl, cost.DefaultTraffic)
	require.NoError(t, err)
	assert.InDelta(t, cost.Alarm.USD, more.Total()-base.Total(), 1e-9)

	tpl = load(t, "trailguard")
	for id, r := range tpl.Resources {
		if _, ok := r.Properties["ScheduleExpression"]; ok {
			r.Properties["ScheduleExpression"] = "rate(5 minutes)"
			tpl.Resources[id] = r
		}
	}
	faster, err := cost.Compute(tpl, cost.DefaultTraffic)
	require.NoError(t, err)
	assert.Equal(t, line(t, base, "Lambda requests").Arithmetic[:6], "(2880 ")
	assert.Equal(t, line(t, faster, "Lambda requests").Arithmetic[:6], "(8640 ")

	tpl = load(t, "trailguard")
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Lambda::Function" {
			r.Properties["MemorySize"] = 512.0
			tpl.Resources[id] = r
		}
	}
	bigger, err := cost.Compute(tpl, cost.DefaultTraffic)
	require.NoError(t, err)
	assert.Greater(t, line(t, bigger, "Lambda compute").USD, line(t, base, "Lambda compute").USD)
}

// TestBadTemplatesAreRefused: what the model cannot price honestly is named.
func TestBadTemplatesAreRefused(t *testing.T) {
	for name, mutate := range map[string]func(r *cost.Resource){
		"not on demand": func(r *cost.Resource) {
			if r.Type == "AWS::DynamoDB::Table" {
				r.Properties["BillingMode"] = "PROVISIONED"
			}
		},
		"keeps its logs forever": func(r *cost.Resource) {
			if r.Type == "AWS::Logs::LogGroup" {
				delete(r.Properties, "RetentionInDays")
			}
		},
		"not arm64": func(r *cost.Resource) {
			if r.Type == "AWS::Lambda::Function" {
				r.Properties["Architectures"] = []any{"x86_64"}
			}
		},
	} {
		tpl := load(t, "trailguard")
		for id, r := range tpl.Resources {
			mutate(&r)
			tpl.Resources[id] = r
		}
		_, err := cost.Compute(tpl, cost.DefaultTraffic)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
}

// TestDocsHoldTheGeneratedTable: docs/organizations.md's cost table is exactly what `go run ./cmd/cost -write`
// puts there, so a change of template, price or traffic that is not regenerated fails here.
func TestDocsHoldTheGeneratedTable(t *testing.T) {
	root, err := testbed.ModuleRoot()
	require.NoError(t, err)
	table, err := cost.Table(root)
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "organizations.md"))
	require.NoError(t, err)
	want, err := cost.Splice(doc, table)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(doc, want), "docs/organizations.md's cost table is stale: run go run ./cmd/cost -write")
}

func line(t *testing.T, e cost.Estimate, item string) cost.Line {
	t.Helper()
	for _, l := range e.Lines {
		if l.Item == item {
			return l
		}
	}
	t.Fatalf("no line %q", item)
	return cost.Line{}
}
