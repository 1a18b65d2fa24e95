package testbed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// A round trip to AWS includes the service's own time: the proxy forwards a call at once and holds the answer
// until the latency has passed, rather than adding the latency to the service's time. The service here takes
// 1.5 s of a 2 s latency: added, the call would take 3.5 s; the bound leaves a loaded machine 1.2 s.
func TestFaultProxyLatencyIncludesTheServicesTime(t *testing.T) {
	const latency, service = 2 * time.Second, 1500 * time.Millisecond
	arrived := make(chan time.Time, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- time.Now()
		time.Sleep(service)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"trailList":[]}`)
	}))
	defer upstream.Close()
	proxy, err := testbed.NewFaultProxy(upstream.URL, nil, nil)
	require.NoError(t, err)
	defer proxy.Close()
	proxy.SetLatency(latency)
	cfg := (&testbed.Server{}).Config("us-east-1")
	cfg.BaseEndpoint = aws.String(proxy.URL())

	t0 := time.Now()
	_, err = cloudtrail.NewFromConfig(cfg).DescribeTrails(context.Background(), &cloudtrail.DescribeTrailsInput{})
	require.NoError(t, err)
	took := time.Since(t0)
	assert.GreaterOrEqual(t, took, latency, "the answer was held for the latency")
	assert.Less(t, took, latency+service-300*time.Millisecond, "the service's time was added to the latency")
	assert.Less(t, (<-arrived).Sub(t0), latency, "the call was forwarded at once, not after the latency")
}

// A client that asks "Expect: 100-continue" gets moto's real answer, not the interim 100 as its status.
func TestFaultProxyAnswersAnExpectContinueCall(t *testing.T) {
	m := testbed.StartMoto(t)
	proxy, err := testbed.NewFaultProxy(m.URL(), nil, nil)
	require.NoError(t, err)
	defer proxy.Close()
	req, err := http.NewRequest(http.MethodPost, proxy.URL(), strings.NewReader("Action=ListRoles&Version=2010-05-08"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261126/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	req.Header.Set("Expect", "100-continue")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "<ListRolesResponse")
	assert.NotEmpty(t, resp.Header.Get("Content-Type"))
}

// The proxy must name calls as the in-process transport does, so one set of faults serves both.
func TestFaultProxyNamesCallsAndInjectsFaults(t *testing.T) {
	m := testbed.StartMoto(t)
	faults, rec := testbed.NewFaults(), &testbed.Recorder{}
	proxy, err := testbed.NewFaultProxy(m.URL(), faults, rec)
	require.NoError(t, err)
	defer proxy.Close()
	cfg := m.Config("us-east-1")
	cfg.BaseEndpoint = aws.String(proxy.URL())
	a := testbed.NewAWS(cfg)
	ctx := context.Background()

	faults.Add(testbed.Fault{Service: "CloudTrail", Operation: "UpdateTrail", Every: 2, Code: "InvalidHomeRegionException", Message: "home"})
	for i := range 4 {
		_, err := a.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("missing-trail")})
		var home *cttypes.InvalidHomeRegionException
		assert.Equal(t, i%2 == 1, errors.As(err, &home), "call %d: %v", i+1, err)
	}
	_, err = a.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	assert.Equal(t, 2, faults.Injected())
	assert.Equal(t, 4, rec.Count("CloudTrail", "UpdateTrail"))
	assert.Equal(t, 1, rec.Count("IAM", "ListRoles"))
}

// The proxy's latency makes calls that wait on each other end before the next begins, so the recorder's critical
// path counts them as separate round trips, and calls made at once as one. The latency is far above any scheduling
// delay of a loaded machine.
func TestFaultProxyLatencyAndCriticalPath(t *testing.T) {
	const latency = 300 * time.Millisecond
	m := testbed.StartMoto(t)
	faults, rec := testbed.NewFaults(), &testbed.Recorder{}
	proxy, err := testbed.NewFaultProxy(m.URL(), faults, rec)
	require.NoError(t, err)
	defer proxy.Close()
	proxy.SetLatency(latency)
	assert.Equal(t, latency, proxy.Latency())
	cfg := m.Config("us-east-1")
	cfg.BaseEndpoint = aws.String(proxy.URL())
	a := testbed.NewAWS(cfg)
	ctx := context.Background()

	t0 := time.Now()
	for range 2 { // one after the other
		_, err := a.IAM.ListRoles(ctx, &iam.ListRolesInput{})
		require.NoError(t, err)
	}
	took := time.Since(t0)
	assert.GreaterOrEqual(t, took, 2*latency, "each call waited for the latency")
	assert.Equal(t, 2, rec.CriticalPath(), "two calls in sequence are two round trips")
	assert.Positive(t, proxy.UpstreamBusy(t0), "moto answered")
	assert.Zero(t, proxy.UpstreamBusy(time.Now()), "nothing forwarded since")

	rec.Reset()
	var wg sync.WaitGroup
	for range 3 { // at once
		wg.Go(func() {
			_, err := a.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 3, rec.Count("CloudTrail", "DescribeTrails"))
	assert.Equal(t, 1, rec.CriticalPath(), "three calls at once are one round trip")

	rec.Reset()
	faults.Add(testbed.Throttle("IAM", "ListRoles", 1))
	t0 = time.Now()
	_, err = iam.NewFromConfig(cfg, func(o *iam.Options) { o.RetryMaxAttempts = 1 }).ListRoles(ctx, &iam.ListRolesInput{})
	require.Error(t, err, "the throttle was answered")
	assert.GreaterOrEqual(t, time.Since(t0), latency, "a fault is a round trip too")

	rec.Reset()
	proxy.SetLatency(0)
	_, err = a.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	assert.Equal(t, 1, rec.CriticalPath())
}
