package stacks_test

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/infra/stacks"
)

// distDir holds placeholder function zips for the whole test binary, written by TestMain.
var distDir string

// TestMain writes provider.zip and remediator.zip, each holding a placeholder bootstrap, so the infra tests do not
// depend on `make build` having run.
func TestMain(m *testing.M) {
	// jsii unpacks the CDK's libraries into a package cache, ~/.cache by default (about 160 MB): into the checkout's
	// ignored .cache/ instead, where the Makefile puts it too, also when the tests run without make.
	if os.Getenv("JSII_RUNTIME_PACKAGE_CACHE_ROOT") == "" {
		if root, err := filepath.Abs(filepath.Join("..", "..", ".cache", "jsii")); err == nil {
			_ = os.Setenv("JSII_RUNTIME_PACKAGE_CACHE_ROOT", root)
		}
	}
	dir, err := os.MkdirTemp("", "trailguard-infra-dist")
	if err != nil {
		panic(err)
	}
	if err := writeFakeDist(dir); err != nil {
		panic(err)
	}
	distDir = dir
	code := m.Run()
	jsii.Close() // ends the jsii node process and removes the jsii-runtime.* folder it unpacked into the OS temp dir
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func writeFakeDist(dir string) error {
	for _, fn := range []string{"provider", "remediator"} {
		f, err := os.Create(filepath.Join(dir, fn+".zip"))
		if err != nil {
			return err
		}
		w := zip.NewWriter(f)
		e, err := w.Create("bootstrap")
		if err != nil {
			return err
		}
		if _, err := e.Write([]byte("#!/bin/sh\necho placeholder for " + fn + "\n")); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// defaults is the app built with default context, synthesized once and shared by the tests that only read it.
var defaults = sync.OnceValue(func() synthesized { return mustBuild(nil) })

// synthesized is one app built the way infra/main.go builds it, from the given context.
type synthesized struct {
	app      awscdk.App
	provider *stacks.ProviderStack
	example  *stacks.ExampleStack
}

func build(t *testing.T, context map[string]any) synthesized {
	t.Helper()
	app := newApp(context)
	cfg, err := stacks.ConfigFromContext(app)
	require.NoError(t, err)
	p, e, err := stacks.Build(app, cfg)
	require.NoError(t, err)
	return synthesized{app: app, provider: p, example: e}
}

func newApp(context map[string]any) awscdk.App {
	ctx := map[string]any{stacks.CtxAssetDir: distDir}
	for k, v := range context {
		ctx[k] = v
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, AnalyticsReporting: jsii.Bool(false)})
}

func mustBuild(context map[string]any) synthesized {
	app := newApp(context)
	cfg, err := stacks.ConfigFromContext(app)
	if err != nil {
		panic(err)
	}
	p, e, err := stacks.Build(app, cfg)
	if err != nil {
		panic(err)
	}
	return synthesized{app: app, provider: p, example: e}
}

// tmpl is a synthesized template as plain Go values, for assertions on whole structures.
type tmpl map[string]any

func toTemplate(t *testing.T, stack awscdk.Stack) (assertions.Template, tmpl) {
	t.Helper()
	at := assertions.Template_FromStack(stack, nil)
	raw, err := json.Marshal(at.ToJSON())
	require.NoError(t, err)
	var m tmpl
	require.NoError(t, json.Unmarshal(raw, &m))
	return at, m
}

func (m tmpl) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range m["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// one returns the only resource of a type whose logical id starts with prefix.
func (m tmpl) one(t *testing.T, typ, prefix string) (string, map[string]any) {
	t.Helper()
	var ids []string
	for id := range m.resources(typ) {
		if len(id) >= len(prefix) && id[:len(prefix)] == prefix {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	require.Len(t, ids, 1, "want one %s named %s*, got %v", typ, prefix, ids)
	return ids[0], m.resources(typ)[ids[0]]
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// jsonOf renders v as compact JSON, to compare CloudFormation intrinsics structurally in messages.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
