package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/notify"
)

const (
	trailARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail"
	alice    = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
)

func repaired() notify.Decision {
	return notify.Decision{
		Trail: "management-trail", TrailARN: trailARN, Mode: "enforce", Actor: alice, SourceIP: "203.0.113.45",
		EventID: "d23f0824-128b-4f33-8c5c-7fd0a6a3a450", EventName: "UpdateTrail",
		Drift:  []string{"trail is not linked to log group aws-cloudtrail-logs-123456789012-management-trail"},
		Action: notify.ActionRepaired, Result: "ok", Repairs: []string{"UpdateTrail"},
		Duration: 1234567 * time.Microsecond,
	}
}

func TestLogOneLine(t *testing.T) {
	var buf bytes.Buffer
	notify.Log(slog.New(slog.NewJSONHandler(&buf, nil)), repaired())

	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	require.Len(t, lines, 1, "one decision, one line")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	assert.Equal(t, "decision", got["msg"])
	assert.Equal(t, "INFO", got["level"])
	want := map[string]any{
		"trail": "management-trail", "trail_arn": trailARN, "account": "123456789012", "region": "us-east-1", "mode": "enforce", "actor": alice,
		"source_ip": "203.0.113.45", "event_id": "d23f0824-128b-4f33-8c5c-7fd0a6a3a450", "event_name": "UpdateTrail",
		"action": "repaired", "result": "ok", "duration_ms": 1234.567,
		"drift":   []any{"trail is not linked to log group aws-cloudtrail-logs-123456789012-management-trail"},
		"repairs": []any{"UpdateTrail"},
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
}

func TestLogLevelsAndEmptyLists(t *testing.T) {
	for action, level := range map[string]string{"none": "INFO", "repaired": "INFO", "reported": "WARN",
		"contested": "WARN", "gone": "WARN", "failed": "ERROR"} {
		var buf bytes.Buffer
		notify.Log(slog.New(slog.NewJSONHandler(&buf, nil)), notify.Decision{Trail: "t", Action: action})
		var got map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
		assert.Equal(t, level, got["level"], action)
		assert.Equal(t, []any{}, got["drift"], "no drift logs as [], not null")
		assert.Equal(t, []any{}, got["repairs"])
	}
}

type emf struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	Trail                                            string
	DriftDetected, Repaired, RepairFailed, Contested *int
}

func TestWriteMetrics(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 27, 4, 500e6, time.UTC)
	tests := []struct {
		action                             string
		drift                              bool
		drifted, repair, failed, contested int
	}{
		{"repaired", true, 1, 1, 0, 0},
		{"reported", true, 1, 0, 0, 0},
		{"contested", true, 1, 0, 0, 1},
		{"gone", true, 1, 0, 0, 0},
		{"failed", true, 1, 0, 1, 0},
		{"failed", false, 0, 0, 1, 0}, // the check itself failed
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			d := notify.Decision{Trail: "management-trail", TrailARN: trailARN, Action: tt.action}
			if tt.drift {
				d.Drift = []string{"logging stopped"}
			}
			var buf bytes.Buffer
			require.NoError(t, notify.WriteMetrics(&buf, at, d))
			require.Equal(t, 1, strings.Count(buf.String(), "\n"))
			require.True(t, strings.HasSuffix(buf.String(), "\n"))

			var got emf
			dec := json.NewDecoder(&buf)
			require.NoError(t, dec.Decode(&got))
			assert.Equal(t, at.UnixMilli(), got.AWS.Timestamp)
			require.Len(t, got.AWS.CloudWatchMetrics, 1)
			cw := got.AWS.CloudWatchMetrics[0]
			assert.Equal(t, "trailguard", cw.Namespace)
			assert.Equal(t, [][]string{{"Trail"}}, cw.Dimensions)
			var names []string
			for _, m := range cw.Metrics {
				assert.Equal(t, "Count", m.Unit)
				names = append(names, m.Name)
			}
			assert.ElementsMatch(t, []string{"DriftDetected", "Repaired", "RepairFailed", "Contested"}, names)
			assert.Equal(t, "management-trail", got.Trail, "every dimension must be a top-level member")
			// Every declared metric must have its value at the top level, or CloudWatch drops it.
			for name, want := range map[string]struct {
				got  *int
				want int
			}{"DriftDetected": {got.DriftDetected, tt.drifted}, "Repaired": {got.Repaired, tt.repair},
				"RepairFailed": {got.RepairFailed, tt.failed}, "Contested": {got.Contested, tt.contested}} {
				require.NotNil(t, want.got, name)
				assert.Equal(t, want.want, *want.got, name)
			}
		})
	}
}

// TestNoMetricsForACompliantCheck: a check that found nothing writes no metric line (issue 24: every trail's four
// metrics receiving data at every sweep cost $1.20 a month per trail), and nothing else either.
func TestNoMetricsForACompliantCheck(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, notify.WriteMetrics(&buf, time.Now(), notify.Decision{Trail: "management-trail", TrailARN: trailARN, Action: "none"}))
	assert.Empty(t, buf.String())
	assert.False(t, notify.Counted(notify.Decision{Action: "none"}))
	assert.True(t, notify.Counted(notify.Decision{Action: "none", Drift: []string{"logging stopped"}}), "drift left as is still counts")
}

func TestWriteMetricsEmptyTrail(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, notify.WriteMetrics(&buf, time.Now(), notify.Decision{Action: "failed"}))
	var got emf
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.NotEmpty(t, got.Trail, "an empty dimension value makes CloudWatch reject the record")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteMetricsError(t *testing.T) {
	err := notify.WriteMetrics(failingWriter{}, time.Now(), repaired())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "management-trail")
	assert.Contains(t, err.Error(), "disk full")
}

func TestShouldNotify(t *testing.T) {
	for action, want := range map[string]bool{"none": false, "": false, "repaired": true, "reported": true,
		"contested": true, "gone": true, "failed": true} {
		assert.Equal(t, want, notify.ShouldNotify(notify.Decision{Action: action}), action)
	}
}
