# Loaded by every moto_server the test bed starts (its sitecustomize imports it), before moto answers anything.
# It adds to moto 5.2.1 the CloudWatch Logs behaviour AWS has and moto lacks, as the CloudWatch Logs API reference
# documents it, in this one place; internal/dev/testbed/awsgaps_test.go checks each answer:
#
#   - log group deletion protection (PutLogGroupDeletionProtection; deletionProtectionEnabled on CreateLogGroup and
#     in DescribeLogGroups; DeleteLogGroup of a protected group fails with a ValidationException whose message is
#     the one the CloudWatch Logs user guide gives, "Protecting log groups from deletion"; DeleteLogStream in a
#     protected group fails with a ValidationException too: the API reference says protection "blocks all deletion
#     operations", and AWS's service model (aws-sdk-go-v2 cloudwatchlogs v1.87.0) lists ValidationException for
#     the two calls that delete archived log events, DeleteLogGroup and DeleteLogStream (besides the Delete* calls of
#     deliveries, integrations and scheduled queries, which delete no log events); no page gives the stream's
#     message, so the test bed's own says so and nothing may depend on it);
#   - AssociateKmsKey and DisassociateKmsKey on a log group (the key shows in DescribeLogGroups' kmsKeyId);
#   - and, from CloudTrail, a trail's event configuration (GetEventConfiguration, PutEventConfiguration), at the end.
#
# The state lives on moto's own LogGroup objects, so moto's reset (POST /moto-api/reset) clears it with them, and a
# group deleted and created again starts unprotected, as on AWS. Not emulated: KMS itself (AWS checks that the key
# exists and that its policy lets CloudWatch Logs use it; here any non-empty key ARN is taken).
import sys

try:
    import moto

    if moto.__version__ != "5.2.1":  # the patches read moto 5.2.1's internals
        raise RuntimeError(f"moto {moto.__version__}, not 5.2.1")

    from moto.logs import models as _models
    from moto.logs import responses as _responses
    from moto.logs.exceptions import (
        InvalidParameterException,
        ResourceNotFoundException,
        ValidationException,
    )

    PROTECTED_DELETE = (
        "Cannot delete log group with deletion protection enabled. Disable deletion protection first."
    )

    def _group(backend, identifier):
        """The log group a name or an ARN (with or without ":*") names."""
        name = identifier or ""
        if name.startswith("arn:") and ":log-group:" in name:
            name = name.split(":log-group:", 1)[1]
            if name.endswith(":*"):
                name = name[:-2]
        group = backend.groups.get(name)
        if group is None:
            raise ResourceNotFoundException()
        return group

    _describe = _models.LogGroup.to_describe_dict

    def to_describe_dict(self):
        d = _describe(self)
        d["deletionProtectionEnabled"] = bool(getattr(self, "deletion_protection_enabled", False))
        return d

    _models.LogGroup.to_describe_dict = to_describe_dict

    _delete_group = _models.LogsBackend.delete_log_group

    def delete_log_group(self, log_group_name):
        group = self.groups.get(log_group_name)
        if group is not None and getattr(group, "deletion_protection_enabled", False):
            raise ValidationException(PROTECTED_DELETE)
        return _delete_group(self, log_group_name)

    _models.LogsBackend.delete_log_group = delete_log_group

    # The user guide gives no message for a stream (only for the group): this one is the test bed's.
    PROTECTED_STREAM_DELETE = (
        "Cannot delete a log stream of a log group with deletion protection enabled (trailguard test bed wording)."
    )
    _delete_stream = _models.LogsBackend.delete_log_stream

    def delete_log_stream(self, log_group_name, log_stream_name):
        group = self.groups.get(log_group_name)
        if group is not None and getattr(group, "deletion_protection_enabled", False):
            raise ValidationException(PROTECTED_STREAM_DELETE)
        return _delete_stream(self, log_group_name, log_stream_name)

    _models.LogsBackend.delete_log_stream = delete_log_stream

    def create_log_group(self):
        name = self._get_param("logGroupName")
        group = self.logs_backend.create_log_group(
            name, self._get_param("tags"), kmsKeyId=self._get_param("kmsKeyId")
        )
        group.deletion_protection_enabled = bool(self._get_param("deletionProtectionEnabled", False))
        return ""

    def put_log_group_deletion_protection(self):
        enabled = self._get_param("deletionProtectionEnabled")
        if not isinstance(enabled, bool):
            raise InvalidParameterException(
                constraint="Member must not be null", parameter="deletionProtectionEnabled", value=enabled
            )
        _group(self.logs_backend, self._get_param("logGroupIdentifier")).deletion_protection_enabled = enabled
        return ""

    def associate_kms_key(self):
        key = self._get_param("kmsKeyId")
        if not key:
            raise InvalidParameterException(constraint="Member must not be null", parameter="kmsKeyId", value=key)
        _group(self.logs_backend, self._get_param("logGroupName")).kms_key_id = key
        return ""

    def disassociate_kms_key(self):
        _group(self.logs_backend, self._get_param("logGroupName")).kms_key_id = None
        return ""

    for _f in (create_log_group, put_log_group_deletion_protection, associate_kms_key, disassociate_kms_key):
        setattr(_responses.LogsResponse, _f.__name__, _f)
    print("trailguard-testbed: AWS gaps emulated", file=sys.stderr, flush=True)
except Exception as e:  # another moto version: the tests that need the emulation fail and say so
    print(f"trailguard-testbed: AWS gaps not emulated: {e!r}", file=sys.stderr, flush=True)


# CloudTrail's event configuration (testbed.TestEventConfigurationAnswersAsAWSDocuments checks it): moto 5.2.1 has no
# PutEventConfiguration/GetEventConfiguration, which CloudTrail added in 2025 and trailguard records as part of a
# trail's posture. The AWS CloudTrail API Reference documents MaxEventSize and ContextKeySelectors for event data
# stores and AggregationConfigurations for trails; what a trail answers for the first two is not documented, nor
# whether TrailName takes an ARN. The test bed answers for a trail (by name or ARN): GetEventConfiguration gives
# TrailARN, MaxEventSize ("Standard" until set) and ContextKeySelectors (none until set); PutEventConfiguration sets
# both and answers the same (the reference's rule that context key selectors need MaxEventSize Large is not
# enforced); an unknown trail is TrailNotFoundException. The
# configuration lives on moto's trail object, so a reset or a deleted trail forgets it, as AWS would.
try:
    import json as _json

    from moto.cloudtrail.responses import CloudTrailResponse as _CloudTrailResponse

    def _configured_trail(self):
        return self.cloudtrail_backend.get_trail(_json.loads(self.body or "{}").get("TrailName", ""))

    def _answer(trail):
        config = getattr(trail, "trailguard_event_configuration", {"MaxEventSize": "Standard", "ContextKeySelectors": []})
        return _json.dumps({"TrailARN": trail.arn, **config})

    def _put_event_configuration(self):
        params = _json.loads(self.body or "{}")
        trail = _configured_trail(self)
        trail.trailguard_event_configuration = {"MaxEventSize": params.get("MaxEventSize", "Standard"),
                                                "ContextKeySelectors": params.get("ContextKeySelectors", [])}
        return _answer(trail)

    def _get_event_configuration(self):
        return _answer(_configured_trail(self))

    _CloudTrailResponse.put_event_configuration = _put_event_configuration
    _CloudTrailResponse.get_event_configuration = _get_event_configuration
except Exception as e:
    print(f"trailguard-testbed: no event configuration emulation: {e!r}", file=sys.stderr, flush=True)
