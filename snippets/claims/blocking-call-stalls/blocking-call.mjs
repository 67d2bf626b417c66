// Claim: a blocking call inside async code stalls every other task. A ticker fires every 10 ms;
// the main task first blocks the thread for 500 ms (Atomics.wait, a real blocking sleep), then
// waits 500 ms the async way (a promise over setTimeout). The probe counts the ticks inside each
// window and the largest gap between ticks around it.
const TICK_MS = 10;
const WAIT_MS = 500;
const ticks = [];
const ticker = setInterval(() => ticks.push(performance.now()), TICK_MS);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function window(start, end) {
  const inside = ticks.filter((t) => t > start && t < end).length;
  const before = ticks.filter((t) => t <= start).at(-1) ?? start;
  const after = ticks.find((t) => t >= end) ?? end;
  const points = [before, ...ticks.filter((t) => t > start && t < end), after];
  let gap = 0;
  for (let i = 1; i < points.length; i++) gap = Math.max(gap, points[i] - points[i - 1]);
  return { inside, gap: Math.round(gap) };
}

await sleep(100);
const blockStart = performance.now();
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAIT_MS);
const blockEnd = performance.now();
await sleep(100);
const asyncStart = performance.now();
await sleep(WAIT_MS);
const asyncEnd = performance.now();
await sleep(100);
clearInterval(ticker);

const blocked = window(blockStart, blockEnd);
const awaited = window(asyncStart, asyncEnd);
console.log(
  JSON.stringify({
    tick_ms: TICK_MS,
    block_ms: Math.round(blockEnd - blockStart),
    ticks_during_block: blocked.inside,
    max_gap_during_block_ms: blocked.gap,
    async_wait_ms: Math.round(asyncEnd - asyncStart),
    ticks_during_async_wait: awaited.inside,
    max_gap_during_async_wait_ms: awaited.gap,
  })
);
