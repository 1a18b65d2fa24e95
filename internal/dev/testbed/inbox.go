package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SNSMessage is what SNS POSTs to an http subscriber.
type SNSMessage struct {
	Type, TopicArn, Subject, Message string
}

// Inbox is an http endpoint on 127.0.0.1 that SNS (moto) delivers notifications to, as an e-mail subscriber would
// receive them. Each URL path is a separate mailbox.
type Inbox struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     map[string][]SNSMessage
	arrived chan struct{}
}

// NewInbox starts one.
func NewInbox() *Inbox {
	b := &Inbox{got: map[string][]SNSMessage{}, arrived: make(chan struct{}, 256)}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	return b
}

func (b *Inbox) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var m SNSMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.got[r.URL.Path] = append(b.got[r.URL.Path], m)
	b.mu.Unlock()
	select {
	case b.arrived <- struct{}{}:
	default:
	}
}

// Subscribe subscribes the mailbox at path to a topic, with an optional SNS filter policy.
func (b *Inbox) Subscribe(ctx context.Context, client *sns.Client, topicARN, path, filterPolicy string) error {
	in := &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("http"), Endpoint: aws.String(b.srv.URL + path)}
	if filterPolicy != "" {
		in.Attributes = map[string]string{"FilterPolicy": filterPolicy}
	}
	if _, err := client.Subscribe(ctx, in); err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", path, topicARN, err)
	}
	return nil
}

// Messages lists what reached the mailbox at path.
func (b *Inbox) Messages(path string) []SNSMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]SNSMessage(nil), b.got[path]...)
}

// WaitFor waits until n messages in all have arrived since the inbox started, or d passes.
func (b *Inbox) WaitFor(n int, d time.Duration) error {
	deadline := time.After(d)
	for {
		b.mu.Lock()
		total := 0
		for _, msgs := range b.got {
			total += len(msgs)
		}
		b.mu.Unlock()
		if total >= n {
			return nil
		}
		select {
		case <-b.arrived:
		case <-deadline:
			return fmt.Errorf("%d SNS messages arrived within %s; want %d", total, d, n)
		}
	}
}

// Close stops the endpoint.
func (b *Inbox) Close() { b.srv.Close() }
