// Claim: JavaScript's multitasking is cooperative: a CPU-bound loop without an `await` starves
// every other task. A ticker fires every 10 ms; the main task spins the CPU for 500 ms without
// yielding, then spins 500 ms again but yields (await setImmediate) every millisecond. The probe
// counts the ticks inside each spin and the largest gap between ticks around it.
const TICK_MS = 10;
const SPIN_MS = 500;
const ticks = [];
const ticker = setInterval(() => ticks.push(performance.now()), TICK_MS);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

function window(start, end) {
  const inside = ticks.filter((t) => t > start && t < end).length;
  const before = ticks.filter((t) => t <= start).at(-1) ?? start;
  const after = ticks.find((t) => t >= end) ?? end;
  const points = [before, ...ticks.filter((t) => t > start && t < end), after];
  let gap = 0;
  for (let i = 1; i < points.length; i++) gap = Math.max(gap, points[i] - points[i - 1]);
  return { inside, gap: Math.round(gap) };
}

let work = 0;
function spinFor(ms) {
  const until = performance.now() + ms;
  while (performance.now() < until) work = (work * 31 + 7) % 1000003;
}

await sleep(100);
const spinStart = performance.now();
spinFor(SPIN_MS);
const spinEnd = performance.now();
await sleep(100);
const yieldingStart = performance.now();
while (performance.now() - yieldingStart < SPIN_MS) {
  spinFor(1);
  await yieldToLoop();
}
const yieldingEnd = performance.now();
await sleep(100);
clearInterval(ticker);

const spin = window(spinStart, spinEnd);
const yielding = window(yieldingStart, yieldingEnd);
console.log(
  JSON.stringify({
    tick_ms: TICK_MS,
    spin_ms: Math.round(spinEnd - spinStart),
    ticks_during_spin: spin.inside,
    max_gap_during_spin_ms: spin.gap,
    yielding_spin_ms: Math.round(yieldingEnd - yieldingStart),
    ticks_during_yielding_spin: yielding.inside,
    max_gap_during_yielding_spin_ms: yielding.gap,
  })
);
