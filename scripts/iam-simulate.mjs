// Evaluates IAM requests with @cloud-copilot/iam-simulate (AWS's evaluation logic:
// identity and resource policies, every condition operator), for the tests that
// hold the template's policies to what they must allow and refuse: no AWS emulator
// evaluates a bucket policy's conditions.
//
// Reads a JSON array of simulations (the library's Simulation shape) on stdin;
// prints a JSON array, one {"result": "Allowed" | "ExplicitlyDenied" |
// "ImplicitlyDenied"} or {"errors": ...} per simulation, in order.
// Run through scripts/iam-simulate.sh, which installs the pinned library.
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const modules = process.env.IAM_SIMULATE_MODULES
const require = createRequire(pathToFileURL(`${modules}/`))
const { runSimulation } = await import(
  pathToFileURL(require.resolve('@cloud-copilot/iam-simulate')).href
)

let input = ''
for await (const chunk of process.stdin) input += chunk
const results = []
for (const simulation of JSON.parse(input)) {
  const outcome = await runSimulation(simulation, {})
  results.push(
    outcome.errors
      ? { errors: outcome.errors }
      : { result: outcome.result.analysis.result }
  )
}
process.stdout.write(JSON.stringify(results))
