package customresource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trailguard/trailguard/internal/printable"
)

// response is the body CloudFormation expects at the ResponseURL.
type response struct {
	Status             string         `json:"Status"`
	Reason             string         `json:"Reason,omitempty"`
	PhysicalResourceID string         `json:"PhysicalResourceId"`
	StackID            string         `json:"StackId"`
	RequestID          string         `json:"RequestId"`
	LogicalResourceID  string         `json:"LogicalResourceId"`
	NoEcho             bool           `json:"NoEcho,omitempty"`
	Data               map[string]any `json:"Data,omitempty"`
}

const truncatedMark = "…(truncated)"

func marshal(r response) (_ []byte, err error) {
	defer func() {
		if p := recover(); p != nil { // a MarshalJSON method in Data panicked
			err = fmt.Errorf("encoding panicked: %v", p)
		}
	}()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// encode returns a body of at most MaxResponseBytes, with suffix appended to a FAILED Reason. It shortens the
// Reason first, keeping the suffix (it tells an operator where the log is); if Data alone is too big, or cannot be
// encoded, the answer becomes FAILED without Data. The returned response is what the body holds.
//
// The Reason quotes whatever the stack author wrote (a property's name, a trail's name) and CloudFormation shows
// it in consoles and terminals, so its control characters are escaped (printable.Text) before it is measured.
func encode(r response, suffix string) (response, []byte) {
	if r.Status != StatusFailed {
		suffix = ""
	}
	r.Reason = printable.Text(r.Reason)
	suffix = printable.Text(suffix)
	full := r
	full.Reason += suffix
	body, err := marshal(full)
	if err == nil && len(body) <= MaxResponseBytes {
		return full, body
	}
	bare := r
	bare.Reason = ""
	bareBody, bareErr := marshal(bare)
	switch {
	case err != nil || bareErr != nil:
		r = failedData(r, fmt.Sprintf("the handler's Data cannot be encoded as JSON: %v", err))
		return encode(r, suffix)
	case len(bareBody) > MaxResponseBytes && r.Data != nil:
		r = failedData(r, fmt.Sprintf("the handler's Data is too large: the response would be %d bytes, and CloudFormation accepts at most %d; return less Data", len(bareBody), MaxResponseBytes))
		return encode(r, suffix)
	case len(bareBody) > MaxResponseBytes:
		// Only the identifiers CloudFormation sent are left; CloudFormation never sends ids this long, so this
		// is a hand-made event. Answer anyway: one response always.
		r.Reason = ""
		body, _ = marshal(r)
		return r, body
	}
	r.Reason = truncate(r.Reason, MaxResponseBytes-len(bareBody)-escapedLen(suffix))
	if r.Reason == "" {
		r.Reason = truncate(suffix, MaxResponseBytes-len(bareBody)) // not even the suffix fits in full
	} else {
		r.Reason += suffix
	}
	body, _ = marshal(r)
	return r, body
}

// failedData turns a response into a FAILED without Data. The PhysicalResourceId is kept: the resource may well
// exist, and the rollback Delete CloudFormation sends for it must be able to find it.
func failedData(r response, reason string) response {
	r.Status, r.Reason, r.Data, r.NoEcho = StatusFailed, reason, nil, false
	return r
}

// escapedLen is the length of s inside a JSON string, as marshal writes it.
func escapedLen(s string) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return b.Len() - len("\"\"\n")
}

// truncate returns the longest prefix of s, cut on a rune boundary and marked, whose JSON encoding (with the
// quotes and the `"Reason":` key, which the bare body lacks) fits in budget bytes.
func truncate(s string, budget int) string {
	overhead := len(`,"Reason":""`)
	fits := func(t string) bool {
		return escapedLen(t)+overhead <= budget
	}
	if fits(s) {
		return s
	}
	// cut backs a byte offset to a rune boundary, keeping the prefix valid UTF-8.
	cut := func(k int) int {
		for k > 0 && k < len(s) && !utf8.RuneStart(s[k]) {
			k--
		}
		return k
	}
	// Find the largest k whose cut prefix fits; the predicate is monotone in k.
	lo, hi := -1, len(s) // fits at lo (or lo == -1), not at hi
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fits(s[:cut(mid)] + truncatedMark) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo < 0 {
		return ""
	}
	return s[:cut(lo)] + truncatedMark
}

// fallbackPrefix starts every fallback PhysicalResourceId.
const fallbackPrefix = "trailguard-fallback-"

// fallbackID is the PhysicalResourceId of a Create that produced none: it failed, or succeeded without an id.
// It is derived from the request, so that a Create retried by Lambda answers with the same id, and it is not an
// ARN, so the rollback Delete CloudFormation sends for it is recognisably a resource that was never created.
func fallbackID(req Request) string {
	logical := strings.Map(func(r rune) rune {
		if r < 128 && isAlnum(byte(r)) {
			return r
		}
		return -1
	}, req.LogicalResourceID)
	if len(logical) > maxFallbackLogical {
		logical = logical[:maxFallbackLogical]
	}
	sum := sha256.Sum256([]byte(req.StackID + "\x00" + req.LogicalResourceID + "\x00" + req.RequestID))
	return fallbackPrefix + logical + "-" + hex.EncodeToString(sum[:8])
}

// maxFallbackLogical is how much of the logical resource ID a fallback id keeps.
const maxFallbackLogical = 64

// IsFallbackID reports whether id is a PhysicalResourceId this package made up for a Create that produced none,
// so a Delete for it has nothing to delete: the prefix, 0 to 64 ASCII letters and digits, "-", then 16 lowercase
// hex digits. Checked by a loop, not a regular expression: compiling one with a counted repeat cost every cold
// start 0.7 ms and 70 KB before the first request (the fuzz test holds the two to the same answers).
func IsFallbackID(id string) bool {
	rest, ok := strings.CutPrefix(id, fallbackPrefix)
	if !ok || len(rest) < 17 || len(rest) > maxFallbackLogical+17 || rest[len(rest)-17] != '-' {
		return false
	}
	logical, sum := rest[:len(rest)-17], rest[len(rest)-16:]
	for i := range len(logical) {
		if !isAlnum(logical[i]) {
			return false
		}
	}
	for i := range len(sum) {
		if c := sum[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// putError is a response PUT that did not succeed. It never holds the URL: the query string is a credential.
type putError struct {
	Host     string
	Attempts int
	Status   int // 0 when the last attempt got no HTTP answer
	Err      error
}

func (e *putError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("sending the response to %s: HTTP %d after %d attempt(s)", e.Host, e.Status, e.Attempts)
	}
	return fmt.Sprintf("sending the response to %s: %v after %d attempt(s)", e.Host, e.Err, e.Attempts)
}

func (e *putError) Unwrap() error { return e.Err }

// put sends body to the ResponseURL, retrying network errors, 5xx and 429 with exponential backoff and jitter,
// until it succeeds, gets another 4xx, runs out of attempts, or the invocation's deadline is too near to try again.
func (c *config) put(ctx context.Context, log *slog.Logger, responseURL string, body []byte) (attempts int, err error) {
	host := hostOf(responseURL)
	for attempt := 1; ; attempt++ {
		status, err := c.putOnce(ctx, responseURL, body)
		if err == nil && status >= 200 && status < 300 {
			log.InfoContext(ctx, "response sent", "http_status", status, "attempt", attempt)
			return attempt, nil
		}
		retryable := err != nil || status >= 500 || status == http.StatusTooManyRequests
		perr := &putError{Host: host, Attempts: attempt, Status: status, Err: err}
		log.WarnContext(ctx, "response PUT failed", "http_status", status, "attempt", attempt,
			"retryable", retryable, "error", errText(err))
		if !retryable || attempt >= c.maxAttempts {
			return attempt, perr
		}
		wait := c.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+c.backoffBase {
			return attempt, perr // no time left for another attempt before Lambda stops the function
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, perr
		case <-t.C:
		}
	}
}

func (c *config) putOnce(ctx context.Context, responseURL string, body []byte) (int, error) {
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPut, responseURL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("cannot build the request")
	}
	// The pre-signed URL was signed without a Content-Type; S3 rejects a request that adds one.
	req.Header.Set("Content-Type", "")
	req.ContentLength = int64(len(body))
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the full URL, query string included
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// backoff is the wait before attempt+1: exponential, capped, with equal jitter so that retries from many
// functions do not arrive together.
func (c *config) backoff(attempt int) time.Duration {
	d := c.backoffBase
	for i := 1; i < attempt && d < c.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.backoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
