# An AWS behaviour moto 5.2.1 lacks, emulated once here for every test and the demo (emulate_metric_filters.go).
#
# CloudWatch Logs' PutMetricFilter "creates or updates a metric filter": a second put of the same filter name on the
# same log group replaces the first (the CloudWatch Logs API reference, PutMetricFilter). moto 5.2.1 appends a second
# filter of that name instead, so a repaired filter would be listed twice, the old pattern beside the new.
try:
    import moto.logs.metric_filters as _mf

    _add_filter = _mf.MetricFilters.add_filter

    def _put_metric_filter(self, filter_name, filter_pattern, log_group_name, metric_transformations):
        self.metric_filters = [
            f for f in self.metric_filters
            if not (f["filterName"] == filter_name and f["logGroupName"] == log_group_name)
        ]
        return _add_filter(self, filter_name, filter_pattern, log_group_name, metric_transformations)

    _mf.MetricFilters.add_filter = _put_metric_filter
except Exception as e:  # another moto: say so, the test of this emulation then fails
    import sys

    print(f"trailguard-testbed: PutMetricFilter not emulated: {e!r}", file=sys.stderr, flush=True)
