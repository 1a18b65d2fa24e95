package lambdaenv_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailguard/trailguard/internal/dev/testbed"
)

// Budgets of the init phase, in bytes the package initialisers allocate (GODEBUG=inittrace=1): a count that does not
// depend on the machine, unlike the init time the benchmark measures (README, "Speed": under 2× a hello-world
// bootstrap's). Today the SDK's per-service endpoint tables are most of it, about 80 KB for each client a function
// links: 0.67 MB for the provider, 0.59 MB for the remediator.
const (
	initBudget = 1 << 20
	// packageInitBudget is what one of trailguard's own packages may allocate at init: some error values, never a
	// compiled regular expression (a counted repeat costs tens of KB and most of a millisecond at every cold start).
	packageInitBudget = 4 << 10
)

// TestInitPhaseStaysSmall runs each function's bootstrap up to the end of its package initialisers and reads what
// they allocated. It guards two findings of issue 13: trailguard's own packages compile nothing at init, and no
// SDK client with schema-based serialisation is linked. Those SDK versions (DynamoDB 1.69, DynamoDB Streams 1.42,
// CloudWatch Logs 1.88, Organizations 1.57, CloudFormation 1.83 and later) build every shape of their service at init: 2.4 MB and about
// 5 ms of the provider's cold start, and 350 KB of its zip. Upgrading past them means measuring the cold start
// and zip size again (make bench) and stating the new figures, not raising a budget here.
func TestInitPhaseStaysSmall(t *testing.T) {
	for _, fn := range []string{"provider", "remediator"} {
		t.Run(fn, func(t *testing.T) {
			bootstrap, err := testbed.BuildFunction(fn)
			require.NoError(t, err)
			cmd := exec.Command(bootstrap)
			// No AWS_REGION: main refuses to start (exit 1) right after the initialisers have run and reported.
			cmd.Env = []string{"GODEBUG=inittrace=1"}
			out, _ := cmd.CombinedOutput()
			inits := parseInitTrace(t, out)
			require.NotEmpty(t, inits, "no inittrace lines in the bootstrap's output:\n%s", out)
			total := 0
			for _, in := range inits {
				total += in.bytes
				if strings.HasPrefix(in.pkg, "github.com/trailguard/trailguard/") {
					assert.LessOrEqual(t, in.bytes, packageInitBudget, "%s allocates at init", in.pkg)
				}
				assert.False(t, strings.HasPrefix(in.pkg, "github.com/aws/aws-sdk-go-v2/service/") &&
					strings.HasSuffix(in.pkg, "/schemas"),
					"%s is linked: an SDK client with schema-based serialisation (%d bytes at init)", in.pkg, in.bytes)
			}
			assert.LessOrEqual(t, total, initBudget, "bytes allocated by %s's package initialisers", fn)
		})
	}
}

type packageInit struct {
	pkg   string
	bytes int
}

// parseInitTrace reads the runtime's lines "init PKG @T ms, C ms clock, B bytes, A allocs".
func parseInitTrace(t *testing.T, out []byte) []packageInit {
	var inits []packageInit
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.Atoi(f[7])
		require.NoError(t, err, sc.Text())
		inits = append(inits, packageInit{pkg: f[1], bytes: n})
	}
	return inits
}
