# An AWS behaviour moto 5.2.1 lacks, emulated once here for every test and the demo (emulate_metric_filters.go).
#
# CloudWatch's DisableAlarmActions and EnableAlarmActions switch an alarm's actions off and on (ActionsEnabled),
# leaving the rest of the alarm as it is (the CloudWatch API reference); what AWS does with an unknown name is not
# documented: the test bed ignores it. moto 5.2.1 raises
# NotImplementedError for both (a 500).
try:
    from moto.cloudwatch.responses import CloudWatchResponse as _R
    from moto.core.responses import EmptyResult as _Empty

    def _set_actions(enabled):
        def handler(self):
            for name in self._get_param("AlarmNames", []):
                alarm = self.cloudwatch_backend.alarms.get(name)
                if alarm is not None:
                    alarm.actions_enabled = enabled
            return _Empty()

        return handler

    _R.disable_alarm_actions = _set_actions(False)
    _R.enable_alarm_actions = _set_actions(True)
except Exception as e:  # another moto: say so, the test of this emulation then fails
    import sys

    print(f"trailguard-testbed: DisableAlarmActions not emulated: {e!r}", file=sys.stderr, flush=True)
