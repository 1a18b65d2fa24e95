// Package iamsim asks an IAM policy evaluator that is not ours how AWS would decide requests:
// @cloud-copilot/iam-simulate (pinned in package.json, installed by `npm ci`), run by simulate.mjs in one node
// process per batch. The infra tests hold the synthesized grants (infra/stacks) and the organization guardrail
// (infra/guardrail) to it; moto never enforces IAM.
package iamsim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed simulate.mjs
var script []byte

// Result is the evaluator's answer to one simulation: Result is "Allowed", "ExplicitlyDenied" or
// "ImplicitlyDenied"; Error is set instead when the evaluator refused the question (an unknown action, a resource
// of the wrong type, a malformed policy).
type Result struct {
	Result string `json:"result"`
	Error  string `json:"error"`
}

// Run evaluates sims, each marshalling to an iam-simulate Simulation object, with the evaluator installed in the
// node_modules of root (the repository's root), and returns one Result per simulation.
func Run[S any](root string, sims []S) ([]Result, error) {
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		return nil, fmt.Errorf("the IAM evaluator is not installed: run `npm ci` in %s (make test does it first)", root)
	}
	in, err := json.Marshal(sims)
	if err != nil {
		return nil, err
	}
	// An ES module given with -e resolves its imports from the working directory: root's node_modules.
	cmd := exec.Command("node", "--input-type=module", "-e", string(script))
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node simulate.mjs: %w: %s", err, stderr.String())
	}
	var res []Result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("simulate.mjs answered %q: %w", out, err)
	}
	if len(res) != len(sims) {
		return nil, fmt.Errorf("simulate.mjs answered %d results to %d simulations", len(res), len(sims))
	}
	return res, nil
}
