// fan-out: N requests at once (Promise.all) to the mock's /delay/{D}, which answers after D ms.
// The total should stay near D as N grows, until the runtime (or the mock) cannot keep up.
//
// Parameters (environment): SIDEBYSIDE_N (default 10), SIDEBYSIDE_DELAY_MS (default 100, one of
// the mock's delays: 0 10 25 50 100 200 500 1000), SIDEBYSIDE_BASE_URL (default
// https://api.example.com). Prints one JSON object on its last line:
//   {"scenario":"fan-out","runtime":"node v20.20.2","n":10,"delay_ms":100,"ok":10,"elapsed_ms":104.2}
// Connections: the global fetch of every runtime keeps no limit per host, so each request in
// flight gets its own HTTP/1.1 connection (see docs/scenarios.md for Bun's and Deno's defaults).
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
    console.error(`fan-out: ${name} must be a whole number >= 0, got ${JSON.stringify(text)}`);
    exit(2);
  }
  return value;
}

const n = integer('SIDEBYSIDE_N', 10);
const delayMs = integer('SIDEBYSIDE_DELAY_MS', 100);
const baseUrl = (env.SIDEBYSIDE_BASE_URL || 'https://api.example.com').replace(/\/+$/, '');
// HTTP/1.1 in every runtime, one connection per request in flight: Deno's fetch would negotiate
// HTTP/2 with the mock and multiplex every request on one connection, so it is asked not to.
const fetchOptions = globalThis.Deno?.createHttpClient
  ? { client: Deno.createHttpClient({ http2: false }) }
  : {};
const url = `${baseUrl}/delay/${delayMs}`;

async function fetchDelay() {
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
  const answers = await Promise.all(Array.from({ length: n }, fetchDelay));
  const elapsedMs = performance.now() - started;
  const ok = answers.reduce((sum, answer) => sum + answer, 0);
  console.log(JSON.stringify({
    scenario: 'fan-out',
    runtime,
    n,
    delay_ms: delayMs,
    ok,
    elapsed_ms: Math.round(elapsedMs * 1000) / 1000,
  }));
} catch (error) {
  console.error(`fan-out: ${describe(error)}`);
  exit(1);
}
