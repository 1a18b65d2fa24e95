// Evaluates IAM requests with @cloud-copilot/iam-simulate, an IAM policy evaluator that is not ours: identity
// policies, permissions boundaries, resource policies and SCPs, explicit denies and every condition operator.
// Input (stdin): a JSON array of iam-simulate Simulation objects. Output (stdout): a JSON array, one entry per
// simulation: {"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"} or {"error": "..."} when the evaluator
// refuses the input (an unknown action, a resource of the wrong type, a malformed policy).
import { runSimulation } from '@cloud-copilot/iam-simulate'

let input = ''
for await (const chunk of process.stdin) input += chunk
const out = []
for (const sim of JSON.parse(input)) {
  const r = await runSimulation(sim, {})
  if (r.resultType === 'error') out.push({ error: JSON.stringify(r.errors) })
  else out.push({ result: r.overallResult })
}
process.stdout.write(JSON.stringify(out))
