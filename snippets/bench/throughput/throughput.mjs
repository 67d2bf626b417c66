// throughput: C workers keep one request each in flight to the mock's /item/{i} for T seconds.
// Reports requests per second and latency percentiles.
//
// Closed loop (SIDEBYSIDE_RATE unset or 0): each worker sends its next request as soon as the
// previous answer arrived; latency runs from the moment a request is sent.
// Fixed rate (SIDEBYSIDE_RATE=R > 0): request k is due at start + k/R seconds (worker k mod C
// sends it, waiting until it is due); latency runs from when it was DUE, not when it was sent,
// so a stall that delays later requests counts against them (the coordinated-omission
// correction of wrk2 and `oha --latency-correction`).
//
// Parameters (environment): SIDEBYSIDE_CONCURRENCY (default 10), SIDEBYSIDE_DURATION_S
// (default 1), SIDEBYSIDE_RATE (default 0), SIDEBYSIDE_TIMEOUT_MS (per request, default 5000),
// SIDEBYSIDE_BASE_URL (default https://api.example.com). Prints one JSON object on its last
// line with sent, ok (answered 200 with the expected body), errors, timeouts, elapsed_ms,
// requests_per_s (ok per second), p50_ms, p90_ms, p99_ms, max_ms. Exits 1 if nothing succeeded.
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

function number(name, fallback, { whole = false, positive = false } = {}) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  const valid = Number.isFinite(value) && (positive ? value > 0 : value >= 0) &&
    (!whole || Number.isSafeInteger(value));
  if (!valid) {
    const kind = `${whole ? 'a whole number' : 'a number'} ${positive ? '> 0' : '>= 0'}`;
    console.error(`throughput: ${name} must be ${kind}, got ${JSON.stringify(text)}`);
    exit(2);
  }
  return value;
}

const concurrency = number('SIDEBYSIDE_CONCURRENCY', 10, { whole: true, positive: true });
const durationS = number('SIDEBYSIDE_DURATION_S', 1, { positive: true });
const rate = number('SIDEBYSIDE_RATE', 0);
const timeoutMs = number('SIDEBYSIDE_TIMEOUT_MS', 5000, { whole: true, positive: true });
const baseUrl = (env.SIDEBYSIDE_BASE_URL || 'https://api.example.com').replace(/\/+$/, '');
// HTTP/1.1 in every runtime, one connection per request in flight: Deno's fetch would negotiate
// HTTP/2 with the mock and multiplex every request on one connection, so it is asked not to.
const fetchOptions = globalThis.Deno?.createHttpClient
  ? { client: Deno.createHttpClient({ http2: false }) }
  : {};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(first, started, end) {
  const stats = { sent: 0, ok: 0, errors: 0, timeouts: 0, latencies: [], firstError: null };
  for (let index = first; ; index += concurrency) {
    let due;
    if (rate > 0) {
      due = started + (index / rate) * 1000;
      if (due >= end) break;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    } else {
      due = performance.now();
      if (due >= end) break;
    }
    const url = `${baseUrl}/item/${index}`;
    stats.sent++;
    try {
      const response = await fetch(url, {
        ...fetchOptions,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: counted as an error below
      }
      if (response.status === 200 && body?.ok === true) {
        stats.ok++;
        stats.latencies.push(performance.now() - due);
      } else {
        stats.errors++;
        stats.firstError ??= `GET ${url} answered ${response.status}: ${text.slice(0, 300)}`;
      }
    } catch (error) {
      if (error?.name === 'TimeoutError') {
        stats.timeouts++;
      } else {
        stats.errors++;
        stats.firstError ??= `GET ${url}: ${describe(error)}`;
      }
    }
  }
  return stats;
}

// Nearest-rank percentile of sorted values: the smallest value with at least p% at or below it.
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const round = (ms) => (ms === null ? null : Math.round(ms * 1000) / 1000);

const started = performance.now();
const end = started + durationS * 1000;
const workers = await Promise.all(
  Array.from({ length: concurrency }, (_, first) => worker(first, started, end)),
);
const elapsedMs = performance.now() - started;

const total = { sent: 0, ok: 0, errors: 0, timeouts: 0 };
let firstError = null;
const latencies = [];
for (const stats of workers) {
  for (const key of Object.keys(total)) total[key] += stats[key];
  firstError ??= stats.firstError;
  for (const latency of stats.latencies) latencies.push(latency);
}
latencies.sort((a, b) => a - b);

if (firstError !== null) console.error(`throughput: first error: ${firstError}`);
if (total.timeouts > 0) console.error(`throughput: ${total.timeouts} requests timed out after ${timeoutMs} ms`);
console.log(JSON.stringify({
  scenario: 'throughput',
  runtime,
  concurrency,
  duration_s: durationS,
  rate,
  latency_corrected: rate > 0,
  ...total,
  elapsed_ms: round(elapsedMs),
  requests_per_s: Math.round((total.ok / (elapsedMs / 1000)) * 10) / 10,
  p50_ms: round(percentile(latencies, 50)),
  p90_ms: round(percentile(latencies, 90)),
  p99_ms: round(percentile(latencies, 99)),
  max_ms: round(latencies.length ? latencies[latencies.length - 1] : null),
}));
if (total.ok === 0) {
  console.error('throughput: no request succeeded');
  exit(1);
}
