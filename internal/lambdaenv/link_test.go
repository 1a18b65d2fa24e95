package lambdaenv_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// TestFunctionsLinkNoHTTP2Client guards issue 24's zip cut: functions/lambda.flags builds with the standard
// library's nethttpomithttp2 tag, which leaves net/http's bundled HTTP/2 client out (146 KB of the remediator's
// zip). The functions talk HTTP/1.1 to the Lambda Runtime API and to AWS endpoints (docs/architecture.md, "Zip
// size"). Function names stay in a stripped Go binary's symbol table, so the bootstrap is searched for the bundle's
// client connection type, beside a name every HTTP client links, which shows the search can see names at all.
func TestFunctionsLinkNoHTTP2Client(t *testing.T) {
	for _, fn := range []string{"provider", "remediator"} {
		t.Run(fn, func(t *testing.T) {
			bootstrap, err := testbed.BuildFunction(fn)
			require.NoError(t, err)
			bin, err := os.ReadFile(bootstrap)
			require.NoError(t, err)
			require.True(t, bytes.Contains(bin, []byte("net/http.(*Transport).roundTrip")),
				"the bootstrap names no net/http function: the search below would prove nothing")
			require.False(t, bytes.Contains(bin, []byte("net/http.(*http2ClientConn)")),
				"%s links net/http's HTTP/2 client: is nethttpomithttp2 missing from functions/lambda.flags?", fn)
		})
	}
}
