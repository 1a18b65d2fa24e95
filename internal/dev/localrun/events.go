package localrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// ReadEvent reads a sample event and checks that it is a JSON object. A relative path is taken from the module root
// first (so `events/...` works from any directory of the repository), then from the working directory.
func ReadEvent(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no event file given")
	}
	candidates := []string{path}
	if !filepath.IsAbs(path) {
		if root, err := testbed.ModuleRoot(); err == nil {
			candidates = []string{filepath.Join(root, path), path}
		}
	}
	var raw []byte
	var err error
	for _, p := range candidates {
		if raw, err = os.ReadFile(p); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read event %s: %w", path, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("event %s is not a JSON object: %w", path, err)
	}
	return raw, nil
}

// WithLocalResponseURL points a CloudFormation request's ResponseURL at the local stand-in for S3, so that the
// answer can be shown instead of going to the pre-signed URL in the sample (which nobody should receive).
func WithLocalResponseURL(raw []byte, rs *testbed.ResponseServer) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("read the CloudFormation request: %w", err)
	}
	id, _ := ev["RequestId"].(string)
	if id == "" {
		return nil, errors.New("the CloudFormation request has no RequestId")
	}
	ev["ResponseURL"] = rs.URL(id)
	return json.Marshal(ev)
}

// ShowCFNResponse is what CloudFormation received, one "Key: value" line each: the status, the reason when there
// is one, the physical id and the attributes (Data) in name order. A long value (an ARN) gets a line of its own,
// so that lines stay within Width and ARNs stay whole.
func ShowCFNResponse(r testbed.CFNResponse) []string {
	if r.DecodeError != nil {
		return []string{fmt.Sprintf("not the JSON CloudFormation expects (%v): %.200s", r.DecodeError, r.Raw)}
	}
	var out []string
	add := func(key, value string) {
		if len(key)+2+len(value) > 92 {
			out = append(out, key+":", value)
			return
		}
		out = append(out, key+": "+value)
	}
	add("Status", r.Body.Status)
	if r.Body.Reason != "" {
		add("Reason", r.Body.Reason)
	}
	add("PhysicalResourceId", r.Body.PhysicalResourceID)
	keys := make([]string, 0, len(r.Body.Data))
	for k := range r.Body.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add("Data."+k, fmt.Sprint(r.Body.Data[k]))
	}
	return out
}

// ShowMessage is a notification as a person reads it: the subject, then the body, indented. Unless full, the body
// is cut down to what drifted and which calls repaired it, for the later notifications of a run, which repeat the
// same explanation.
func ShowMessage(m testbed.SNSMessage, full bool) []string {
	out := []string{"Subject: " + m.Subject}
	var section string
	for _, l := range strings.Split(strings.TrimRight(m.Message, "\n"), "\n") {
		switch {
		case full:
			out = append(out, "  "+l)
		case l == "What drifted:":
			section = "drifted: "
		case strings.HasPrefix(l, "Write calls:"):
			section = "wrote:   "
		case strings.HasPrefix(l, "  - ") && section != "":
			out = append(out, "  "+section+strings.TrimPrefix(l, "  - "))
		case !strings.HasPrefix(l, " "):
			section = ""
		}
	}
	return out
}
