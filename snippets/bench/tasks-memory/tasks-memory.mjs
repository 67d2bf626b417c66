// tasks-memory: N concurrent tasks that each wait D ms, no I/O: the program of "How much memory
// do you need to run 1 million concurrent tasks?". In JavaScript a task is a Promise resolved by
// its own timer (setTimeout); all N are created first, then awaited with Promise.all. The
// harness measures peak memory; the program reports how long creating and finishing took.
//
// Parameters (environment): SIDEBYSIDE_N (default 1000), SIDEBYSIDE_DELAY_MS (default 1000; the
// published comparison used 10000). Prints one JSON object on its last line:
//   {"scenario":"tasks-memory","runtime":"node v20.20.2","n":1000,"delay_ms":1000,"ok":1000,
//    "spawn_ms":1.2,"elapsed_ms":1003.4}
// The same file runs on Node >= 18, Bun and Deno: no Node-only API.

const env = globalThis.process?.env ?? globalThis.Deno?.env.toObject() ?? {};
const runtime = globalThis.Deno
  ? `deno ${Deno.version.deno}`
  : globalThis.Bun
    ? `bun ${Bun.version}`
    : `node ${process.version}`;

function exit(code) {
  if (globalThis.Deno) Deno.exit(code);
  process.exit(code);
}

function integer(name, fallback) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`tasks-memory: ${name} must be a whole number >= 0, got ${JSON.stringify(text)}`);
    exit(2);
  }
  return value;
}

const n = integer('SIDEBYSIDE_N', 1000);
const delayMs = integer('SIDEBYSIDE_DELAY_MS', 1000);

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms, 1));

try {
  const started = performance.now();
  const tasks = [];
  for (let index = 0; index < n; index++) {
    tasks.push(delay(delayMs));
  }
  const spawnedMs = performance.now() - started;
  const finished = await Promise.all(tasks);
  const elapsedMs = performance.now() - started;
  const ok = finished.reduce((sum, one) => sum + one, 0);
  console.log(JSON.stringify({
    scenario: 'tasks-memory',
    runtime,
    n,
    delay_ms: delayMs,
    ok,
    spawn_ms: Math.round(spawnedMs * 1000) / 1000,
    elapsed_ms: Math.round(elapsedMs * 1000) / 1000,
  }));
} catch (error) {
  console.error(`tasks-memory: ${error?.stack ?? error}`);
  exit(1);
}
