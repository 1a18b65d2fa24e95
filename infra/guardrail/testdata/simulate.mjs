// Evaluates the guardrail SCP with @cloud-copilot/iam-simulate, an IAM evaluator independent of trailguard's code.
// Input (stdin): {"scp": <policy>, "cases": [{"principal", "action", "resource", "account", "context"}]}.
// Output (stdout): one line per case, in order: the simulator's overall result (Allowed, ExplicitlyDenied,
// ImplicitlyDenied) or "error: ..." when it refused the request as invalid.
// The identity policy allows everything and FullAWSAccess is attached beside the guardrail, as in an organization,
// so a denial can only come from the guardrail.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (c) => (data += c))
  process.stdin.on('end', () => resolve(data))
}))
const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }
for (const c of input.cases) {
  const response = await runSimulation({
    identityPolicies: [{ name: 'AdministratorAccess', policy: allowAll }],
    serviceControlPolicies: [
      { orgIdentifier: 'r-root', policies: [{ name: 'FullAWSAccess', policy: allowAll }] },
      { orgIdentifier: 'ou-target', policies: [{ name: 'FullAWSAccess', policy: allowAll }, { name: 'trailguard', policy: input.scp }] },
    ],
    resourceControlPolicies: [],
    request: {
      action: c.action,
      principal: c.principal,
      resource: { accountId: c.account, resource: c.resource },
      contextVariables: c.context,
    },
  }, {})
  if (response.resultType === 'error') {
    console.log('error: ' + JSON.stringify(response.errors).slice(0, 300))
  } else {
    console.log(response.overallResult)
  }
}
