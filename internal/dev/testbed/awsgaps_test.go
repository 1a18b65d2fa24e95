package testbed_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// describeGroup reads one log group as the engine does, by prefix.
func describeGroup(t *testing.T, logs *cloudwatchlogs.Client, name string) cwltypes.LogGroup {
	t.Helper()
	out, err := logs.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	require.NoError(t, err)
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return g
		}
	}
	t.Fatalf("log group %s not found", name)
	return cwltypes.LogGroup{}
}

// Deletion protection as the CloudWatch Logs API reference (PutLogGroupDeletionProtection, CreateLogGroup's
// deletionProtectionEnabled, LogGroup.deletionProtectionEnabled) and the user guide ("Protecting log groups from
// deletion": "If you attempt to delete a log group with deletion protection enabled, you receive a
// ValidationException with the message ...") document it: moto 5.2.1 has none of it, the test bed adds it.
func TestTheTestBedEmulatesLogGroupDeletionProtectionAsAWSDocuments(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(m.Config(testbed.Region))
	const name, created = "/audit/protected", "/audit/created-protected"

	_, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)})
	require.NoError(t, err)
	assert.False(t, aws.ToBool(describeGroup(t, logs, name).DeletionProtectionEnabled), "off by default")

	_, err = logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(created), DeletionProtectionEnabled: aws.Bool(true)})
	require.NoError(t, err)
	assert.True(t, aws.ToBool(describeGroup(t, logs, created).DeletionProtectionEnabled), "on from CreateLogGroup")

	// By ARN, as the API allows (logGroupIdentifier is a name or an ARN).
	arn := "arn:aws:logs:" + testbed.Region + ":" + testbed.Account + ":log-group:" + name
	_, err = logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String(arn), DeletionProtectionEnabled: aws.Bool(true)})
	require.NoError(t, err)
	assert.True(t, aws.ToBool(describeGroup(t, logs, name).DeletionProtectionEnabled))

	for _, g := range []string{name, created} {
		_, err = logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(g)})
		var api smithy.APIError
		require.True(t, errors.As(err, &api), "a protected group's delete fails: %v", err)
		assert.Equal(t, "ValidationException", api.ErrorCode())
		assert.Equal(t, "Cannot delete log group with deletion protection enabled. Disable deletion protection first.", api.ErrorMessage())
		describeGroup(t, logs, g) // still there
	}

	// A stream of a protected group: protection "blocks all deletion operations" (API reference), and AWS's model
	// gives DeleteLogStream a ValidationException, as DeleteLogGroup; the stream's message is undocumented.
	const stream = testbed.Account + "_CloudTrail_" + testbed.Region
	_, err = logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(name), LogStreamName: aws.String(stream)})
	require.NoError(t, err)
	_, err = logs.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(name), LogStreamName: aws.String(stream)})
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "a protected group's stream delete fails: %v", err)
	assert.Equal(t, "ValidationException", api.ErrorCode())
	streams, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(name)})
	require.NoError(t, err)
	require.Len(t, streams.LogStreams, 1, "the stream is still there")

	_, err = logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String(name), DeletionProtectionEnabled: aws.Bool(false)})
	require.NoError(t, err)
	_, err = logs.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(name), LogStreamName: aws.String(stream)})
	require.NoError(t, err, "a stream is deletable once protection is off")
	_, err = logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	require.NoError(t, err, "deletable once protection is off")

	_, err = logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String("/no/such/group"), DeletionProtectionEnabled: aws.Bool(true)})
	var nf *cwltypes.ResourceNotFoundException
	assert.ErrorAs(t, err, &nf)

	// A group deleted and created again starts unprotected, and moto's reset clears the state with the groups.
	_, err = logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)})
	require.NoError(t, err)
	assert.False(t, aws.ToBool(describeGroup(t, logs, name).DeletionProtectionEnabled))
	require.NoError(t, m.Reset(ctx))
	_, err = logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(created)})
	require.NoError(t, err)
	assert.False(t, aws.ToBool(describeGroup(t, logs, created).DeletionProtectionEnabled), "reset with moto")
}

// AssociateKmsKey and DisassociateKmsKey (CloudWatch Logs API reference): the group's kmsKeyId in DescribeLogGroups
// becomes the key, then goes away. moto 5.2.1 has neither call.
func TestTheTestBedEmulatesAssociateKmsKey(t *testing.T) {
	m := testbed.StartMoto(t)
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(m.Config(testbed.Region))
	const name = "/audit/keyed"
	key := "arn:aws:kms:" + testbed.Region + ":210987654321:key/00000000-0000-0000-0000-000000000000"
	_, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)})
	require.NoError(t, err)

	_, err = logs.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(name), KmsKeyId: aws.String(key)})
	require.NoError(t, err)
	assert.Equal(t, key, aws.ToString(describeGroup(t, logs, name).KmsKeyId))

	_, err = logs.DisassociateKmsKey(ctx, &cloudwatchlogs.DisassociateKmsKeyInput{LogGroupName: aws.String(name)})
	require.NoError(t, err)
	assert.Empty(t, aws.ToString(describeGroup(t, logs, name).KmsKeyId))

	_, err = logs.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String("/no/such/group"), KmsKeyId: aws.String(key)})
	var nf *cwltypes.ResourceNotFoundException
	assert.ErrorAs(t, err, &nf)
}
