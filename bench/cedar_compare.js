// Times @cedar-policy/cedar-wasm on the workload written by `policy_workload_bench --emit`
// and records its decisions, for bench/cedar_compare.sh.
//
// usage: node cedar_compare.js CEDAR_WASM_JS WORKLOAD_DIR ITERATIONS
//
// Reads WORKLOAD_DIR/cedar/policies.cedar and WORKLOAD_DIR/cedar/requests.jsonl, writes
// WORKLOAD_DIR/cedar/decisions.txt (`allow` or `deny` per request, in order) and prints
// `key=value` lines: per-decision mean/p50/p99 in microseconds for
//   - statefulIsAuthorized: decisions against a policy set parsed once beforehand (what a
//     server would do, and what fnjail does: compile once, decide many times);
//   - isAuthorized: the stateless call, which parses the policy text on every decision,
// plus the number of decisions that carried evaluation errors.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`cedar_compare.js: ${message}\n`);
  process.exit(1);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// Runs `decide` over the calls, cycling, `iterations` times; each call timed on its own.
function time(calls, iterations, decide) {
  for (let i = 0; i < Math.min(calls.length, 200); i++) decide(calls[i]);  // warm-up
  const samples = new Float64Array(iterations);
  let total = 0n;
  for (let i = 0; i < iterations; i++) {
    const call = calls[i % calls.length];
    const start = process.hrtime.bigint();
    decide(call);
    const elapsed = process.hrtime.bigint() - start;
    total += elapsed;
    samples[i] = Number(elapsed) / 1000;
  }
  samples.sort();
  return {
    mean: Number(total) / 1000 / iterations,
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
  };
}

function main() {
  const [modulePath, workload, iterationsText] = process.argv.slice(2);
  if (!modulePath || !workload || !iterationsText) {
    fail('usage: node cedar_compare.js CEDAR_WASM_JS WORKLOAD_DIR ITERATIONS');
  }
  const iterations = Number.parseInt(iterationsText, 10);
  if (!(iterations > 0)) fail(`bad iteration count \`${iterationsText}\``);
  const cedar = require(path.resolve(modulePath));

  const policyText = fs.readFileSync(path.join(workload, 'cedar', 'policies.cedar'), 'utf8');
  const calls = fs.readFileSync(path.join(workload, 'cedar', 'requests.jsonl'), 'utf8')
                    .split('\n')
                    .filter((line) => line.length > 0)
                    .map((line) => JSON.parse(line));
  if (calls.length === 0) fail('no requests');
  const policies = {staticPolicies: policyText};

  const parsed = cedar.checkParsePolicySet(policies);
  if (parsed.type !== 'success') fail(`policies do not parse: ${JSON.stringify(parsed.errors)}`);
  if (cedar.preparsePolicySet('workload', policies).type !== 'success') {
    fail('policies do not preparse');
  }

  const stateless = (call) => cedar.isAuthorized({...call, policies});
  const stateful = (call) => cedar.statefulIsAuthorized({...call, preparsedPolicySetId: 'workload'});

  // Decisions first, from the stateless call (the reference API), and checked against the
  // stateful one: both must agree, and no decision may rest on an evaluation error (Cedar
  // skips an erroring policy, which would make the comparison meaningless).
  const decisions = [];
  let errors = 0;
  for (const call of calls) {
    const answer = stateless(call);
    if (answer.type !== 'success') fail(`isAuthorized failed: ${JSON.stringify(answer.errors)}`);
    const again = stateful(call);
    if (again.type !== 'success' || again.response.decision !== answer.response.decision) {
      fail('statefulIsAuthorized disagrees with isAuthorized');
    }
    if (answer.response.diagnostics.errors.length > 0) errors++;
    decisions.push(answer.response.decision);
  }
  fs.writeFileSync(path.join(workload, 'cedar', 'decisions.txt'), decisions.join('\n') + '\n');

  // The stateless call costs about ten times the stateful one: a twentieth of the
  // iterations keeps the run short and still averages over hundreds of calls.
  const cold = time(calls, Math.max(100, Math.floor(iterations / 20)), stateless);
  const warm = time(calls, iterations, stateful);
  const lines = [
    `cedar_version=${cedar.getCedarVersion()}`,
    `requests=${calls.length}`,
    `allowed=${decisions.filter((d) => d === 'allow').length}`,
    `errors=${errors}`,
    `stateless_mean_us=${cold.mean.toFixed(3)}`,
    `stateless_p50_us=${cold.p50.toFixed(3)}`,
    `stateless_p99_us=${cold.p99.toFixed(3)}`,
    `preparsed_mean_us=${warm.mean.toFixed(3)}`,
    `preparsed_p50_us=${warm.p50.toFixed(3)}`,
    `preparsed_p99_us=${warm.p99.toFixed(3)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main();
