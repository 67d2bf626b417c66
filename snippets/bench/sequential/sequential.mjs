// sequential: N requests to the mock's /item/{i}, each awaited before the next is sent.
// Measures the cost of one request-response round trip on one kept-alive connection.
//
// Parameters (environment): SIDEBYSIDE_N (default 10), SIDEBYSIDE_BASE_URL (default
// https://api.example.com). Prints one JSON object on its last line:
//   {"scenario":"sequential","runtime":"node v20.20.2","n":10,"ok":10,"elapsed_ms":31.5}
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
    console.error(`sequential: ${name} must be a whole number >= 0, got ${JSON.stringify(text)}`);
    exit(2);
  }
  return value;
}

const n = integer('SIDEBYSIDE_N', 10);
const baseUrl = (env.SIDEBYSIDE_BASE_URL || 'https://api.example.com').replace(/\/+$/, '');
// HTTP/1.1 in every runtime, one connection per request in flight: Deno's fetch would negotiate
// HTTP/2 with the mock and multiplex every request on one connection, so it is asked not to.
const fetchOptions = globalThis.Deno?.createHttpClient
  ? { client: Deno.createHttpClient({ http2: false }) }
  : {};

async function fetchItem(index) {
  const url = `${baseUrl}/item/${index}`;
  const response = await fetch(url, fetchOptions);
  if (response.status !== 200) {
    const text = await response.text();
    throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  const body = await response.json();
  if (body?.ok !== true) {
    throw new Error(`GET ${url} answered ${JSON.stringify(body)}, expected {"ok":true,...}`);
  }
  return 1;
}

try {
  let ok = 0;
  const started = performance.now();
  for (let index = 0; index < n; index++) {
    ok += await fetchItem(index);
  }
  const elapsedMs = performance.now() - started;
  console.log(JSON.stringify({
    scenario: 'sequential',
    runtime,
    n,
    ok,
    elapsed_ms: Math.round(elapsedMs * 1000) / 1000,
  }));
} catch (error) {
  console.error(`sequential: ${describe(error)}`);
  exit(1);
}
