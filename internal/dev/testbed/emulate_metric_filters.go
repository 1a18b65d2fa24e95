package testbed

import (
	_ "embed"
	"os"
	"path/filepath"
)

// emulatePutMetricFilter makes moto's PutMetricFilter replace a filter of the same name on the same log group, as
// CloudWatch Logs does, instead of adding a second one (motoboot/emulate_put_metric_filter.py says why). It is
// loaded by motoboot/sitecustomize.py, so every moto_server the test bed starts (and so every bootstrap it runs)
// answers as AWS does; TestPutMetricFilterReplacesAsAWSDoes proves it.
//
//go:embed motoboot/emulate_put_metric_filter.py
var emulatePutMetricFilter []byte

// emulateAlarmActions implements DisableAlarmActions and EnableAlarmActions, which moto lacks
// (motoboot/emulate_alarm_actions.py); TestAlarmActionsSwitchAsAWSDoes proves it.
//
//go:embed motoboot/emulate_alarm_actions.py
var emulateAlarmActions []byte

// writeEmulations writes the emulations of AWS behaviours moto lacks next to sitecustomize.py.
func writeEmulations(dir string) error {
	for name, src := range map[string][]byte{
		"emulate_put_metric_filter.py": emulatePutMetricFilter, "emulate_alarm_actions.py": emulateAlarmActions,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			return err
		}
	}
	return nil
}
