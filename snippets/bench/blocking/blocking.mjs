// blocking: the fan-out of N requests to /delay/{D}, where each task first waits B ms, either
// with a synchronous sleep that blocks the event loop's thread (SIDEBYSIDE_BLOCKING=1: Atomics.wait
// on a SharedArrayBuffer, the JavaScript cousin of Python's time.sleep) or with an awaited timer
// (SIDEBYSIDE_BLOCKING=0). Blocking, the waits run one after another: about N*B + D in all.
// Awaited, they overlap: about B + D.
//
// Parameters (environment): SIDEBYSIDE_N (default 10), SIDEBYSIDE_DELAY_MS (default 100, one of
// the mock's delays), SIDEBYSIDE_BLOCK_MS (default 20), SIDEBYSIDE_BLOCKING (1 or 0, default 1),
// SIDEBYSIDE_BASE_URL (default https://api.example.com). Prints one JSON object on its last line:
//   {"scenario":"blocking","runtime":"node v20.20.2","n":10,"delay_ms":100,"block_ms":20,
//    "blocking":true,"block_method":"Atomics.wait","ok":10,"elapsed_ms":312.9}
// The same file runs on Node >= 18, Bun and Deno: global fetch, no Node-only API.

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

function describe(error) {
  let text = String(error?.stack ?? error);
  for (let cause = error?.cause; cause; cause = cause.cause) {
    text += `\ncaused by: ${cause?.stack ?? cause}`;
  }
  return text;
}

function integer(name, fallback) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`blocking: ${name} must be a whole number >= 0, got ${JSON.stringify(text)}`);
    exit(2);
  }
  return value;
}

const n = integer('SIDEBYSIDE_N', 10);
const delayMs = integer('SIDEBYSIDE_DELAY_MS', 100);
const blockMs = integer('SIDEBYSIDE_BLOCK_MS', 20);
const blockingFlag = integer('SIDEBYSIDE_BLOCKING', 1);
if (blockingFlag > 1) {
  console.error(`blocking: SIDEBYSIDE_BLOCKING must be 0 or 1, got ${blockingFlag}`);
  exit(2);
}
const blocking = blockingFlag === 1;
const baseUrl = (env.SIDEBYSIDE_BASE_URL || 'https://api.example.com').replace(/\/+$/, '');
// HTTP/1.1 in every runtime, one connection per request in flight: Deno's fetch would negotiate
// HTTP/2 with the mock and multiplex every request on one connection, so it is asked not to.
const fetchOptions = globalThis.Deno?.createHttpClient
  ? { client: Deno.createHttpClient({ http2: false }) }
  : {};
const url = `${baseUrl}/delay/${delayMs}`;

// Atomics.wait puts the calling thread to sleep, like time.sleep and std::thread::sleep. Where a
// runtime refuses it on its main thread, a busy loop blocks the thread just the same.
const cell = new Int32Array(new SharedArrayBuffer(4));
let blockMethod = 'Atomics.wait';
function sleepBlocking(ms) {
  if (blockMethod === 'Atomics.wait') {
    try {
      Atomics.wait(cell, 0, 0, ms);
      return;
    } catch {
      blockMethod = 'busy-wait';
    }
  }
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin: the thread is kept busy, as the blocking call would keep it waiting
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function task() {
  if (blocking) {
    sleepBlocking(blockMs);
  } else {
    await sleep(blockMs);
  }
  const response = await fetch(url, fetchOptions);
  if (response.status !== 200) {
    const text = await response.text();
    throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  const body = await response.json();
  if (body?.delay_ms !== delayMs) {
    throw new Error(`GET ${url} answered ${JSON.stringify(body)}, expected {"delay_ms":${delayMs}}`);
  }
  return 1;
}

try {
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: n }, task));
  const elapsedMs = performance.now() - started;
  const ok = answers.reduce((sum, answer) => sum + answer, 0);
  console.log(JSON.stringify({
    scenario: 'blocking',
    runtime,
    n,
    delay_ms: delayMs,
    block_ms: blockMs,
    blocking,
    block_method: blocking ? blockMethod : 'timer',
    ok,
    elapsed_ms: Math.round(elapsedMs * 1000) / 1000,
  }));
} catch (error) {
  console.error(`blocking: ${describe(error)}`);
  exit(1);
}
