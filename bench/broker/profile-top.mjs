// Summarises a V8 CPU profile (`node --cpu-prof`, or the bench's
// `--broker-cpu-prof DIR`): the functions and the files with the most self
// time, so a slow workload can be traced to the code that costs it.
//
//   node bench/broker/profile-top.mjs FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/broker/profile-top.mjs FILE.cpuprofile [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const top = Number(values.top);

// Self time per node: each sample names the node that was running; the gaps between samples are its duration.
const selfMicros = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map();
const byFile = new Map();
const shortUrl = (url) =>
  url === ''
    ? '(native)'
    : url.replace(/^file:\/\/.*?\/(packages|node_modules)\//, '$1/').replace(/^node:/, 'node:');
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0;
  if (micros === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const file = shortUrl(url);
  const fn = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  byFile.set(file, (byFile.get(file) ?? 0) + micros);
}
const show = (title, map) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`,
    );
  }
};
console.log(`${positionals[0]}: ${(total / 1000).toFixed(0)} ms sampled`);
show('self time by function', byFunction);
show('self time by file', byFile);
