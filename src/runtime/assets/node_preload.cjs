'use strict';
// sidebyside preload for Node.js 18/20/22, loaded as
//   node --require /abs/path/node_preload.cjs snippet.js   (CommonJS or ESM entry)
// It does nothing unless its environment variables are set, and it never
// changes process behaviour otherwise (no exit/rejection handlers).
//
// SIDEBYSIDE_EVENTS=<file>
//   Every console.log / console.info call appends one JSON line
//   {"kind":"log","values":[...]} to <file> (synchronously, O_APPEND), then
//   prints exactly as before.
//
// SIDEBYSIDE_ROUTES={"host:port":"127.0.0.1:port", ...}
// SIDEBYSIDE_ROUTES_FILE=<file holding that JSON> (what sidebyside sets:
//   thousands of mocked hosts do not fit in the environment)
//   Outgoing TCP connections to a mapped host:port go to the mapped address;
//   loopback passes unchanged; any other host fails before any DNS lookup or
//   packet with an Error "sidebyside: host ... is not mocked; ..." and a
//   {"kind":"refused","host":...,"port":...} event. The key "*" (a mapping
//   without host answers every host) routes every other host name, on any
//   port, to its address; IP addresses are never routed by it.
//
// Mechanism: the hook is net.Socket.prototype.connect. Every client connection
// in Node goes through it: net.connect/createConnection, tls.connect (it
// creates a TLSSocket and calls socket.connect() with the original options'
// host/port), http.Agent (its createConnection is a reference to
// net.createConnection captured at load time, so patching the net.connect
// export alone would miss it), https.Agent (tls.connect), http2.connect, and
// the global fetch: Node's bundled undici connects through tls.connect /
// net.connect of the same module objects. Only the host/port handed to the
// socket are rewritten, so the TLS servername (SNI and certificate check) and
// the Host header still carry the original name.
// Replacing the undici global dispatcher (Symbol.for('undici.globalDispatcher.1'))
// is not used: on Node 18/20 it is created lazily when fetch/Headers is first
// touched (forcing that costs ~100 ms per process), the Agent class is not
// exported without the undici package, and a custom dispatcher would have to
// re-implement undici's TLS connector; the socket-level hook covers fetch
// and the http/https agents with one mechanism.
// CA trust is not handled here: sidebyside sets NODE_EXTRA_CA_CERTS.

const eventsPath = process.env.SIDEBYSIDE_EVENTS;
const routesFile = process.env.SIDEBYSIDE_ROUTES_FILE;
const routesJson = routesFile
  ? require('fs').readFileSync(routesFile, 'utf8')
  : process.env.SIDEBYSIDE_ROUTES;

if (eventsPath || routesJson) {
  const fs = require('fs');
  const net = require('net');

  let eventsFd = -1;
  function writeEvent(event) {
    if (!eventsPath) return;
    try {
      const line = JSON.stringify(event) + '\n';
      if (eventsFd < 0) eventsFd = fs.openSync(eventsPath, 'a');
      fs.writeSync(eventsFd, line);
    } catch (_) {
      // Recording must never break the snippet.
    }
  }

  // ---- value conversion for log events ------------------------------------

  const objToString = Object.prototype.toString;
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;
  const MAX_DEPTH = 500;

  function numberValue(n) {
    if (Number.isFinite(n)) return Object.is(n, -0) ? 0 : n;
    return String(n); // "NaN", "Infinity", "-Infinity"
  }

  function functionValue(f) {
    return f.name ? `[Function: ${f.name}]` : '[Function (anonymous)]';
  }

  function mapKey(k, ancestors, depth) {
    if (typeof k === 'string') return k;
    if (k !== null && (typeof k === 'object' || typeof k === 'function')) {
      return JSON.stringify(toJson(k, ancestors, depth));
    }
    const v = toJson(k, ancestors, depth);
    return typeof v === 'string' ? v : String(v);
  }

  function toJson(v, ancestors, depth) {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return numberValue(v);
      case 'undefined':
        return null;
      case 'bigint':
        return v.toString();
      case 'symbol':
        return v.toString();
      case 'function':
        return functionValue(v);
    }
    if (v === null) return null;
    if (ancestors.includes(v)) return '[Circular]';
    if (depth > MAX_DEPTH) return '[Object]';
    ancestors.push(v);
    try {
      return objectToJson(v, ancestors, depth + 1);
    } finally {
      ancestors.pop();
    }
  }

  function objectToJson(v, ancestors, depth) {
    if (Array.isArray(v)) {
      const out = new Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = toJson(v[i], ancestors, depth);
      return out;
    }
    if (ArrayBuffer.isView(v)) {
      if (typedArrayTag.call(v) !== undefined) {
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) out[i] = toJson(v[i], ancestors, depth);
        return out;
      }
      return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); // DataView
    }
    if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
    if (v instanceof Map) {
      const out = {};
      for (const [k, val] of v) out[mapKey(k, ancestors, depth)] = toJson(val, ancestors, depth);
      return out;
    }
    if (v instanceof Set) {
      const out = [];
      for (const val of v) out.push(toJson(val, ancestors, depth));
      return out;
    }
    if (v instanceof Date) {
      return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    }
    if (v instanceof Error) {
      return { name: String(v.name), message: String(v.message) };
    }
    if (v instanceof RegExp) return String(v);
    switch (objToString.call(v)) {
      case '[object String]':
      case '[object Boolean]':
        return v.valueOf();
      case '[object Number]':
        return numberValue(v.valueOf());
      case '[object BigInt]':
        return v.valueOf().toString();
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== null && proto !== Object.prototype && typeof v.toJSON === 'function') {
      // Class instances that define their own JSON form (URL, ...).
      return toJson(v.toJSON(), ancestors, depth);
    }
    const out = {};
    for (const key of Object.keys(v)) {
      let val;
      try {
        val = v[key];
      } catch (_) {
        val = '[Getter]';
      }
      out[key] = toJson(val, ancestors, depth);
    }
    return out;
  }

  function logValues(args) {
    const values = new Array(args.length);
    for (let i = 0; i < args.length; i++) {
      try {
        values[i] = toJson(args[i], [], 0);
      } catch (_) {
        values[i] = '[Unserializable]';
      }
    }
    return values;
  }

  if (eventsPath) {
    for (const method of ['log', 'info']) {
      const original = console[method];
      if (typeof original !== 'function') continue;
      const wrapped = {
        [method](...args) {
          writeEvent({ kind: 'log', values: logValues(args) });
          return Reflect.apply(original, this, args);
        },
      }[method];
      console[method] = wrapped;
    }
  }

  // ---- connection routing ---------------------------------------------------

  if (routesJson) {
    const routes = new Map(); // "host:port" -> { host, port }
    const mockedHosts = new Set();
    let anyHost = null; // { host, port } when "*" routes every other host name
    let parsed;
    try {
      parsed = JSON.parse(routesJson);
    } catch (e) {
      throw new Error(`sidebyside: SIDEBYSIDE_ROUTES is not valid JSON: ${e.message}`);
    }
    for (const [from, to] of Object.entries(parsed)) {
      const dst = splitHostPort(String(to));
      if (from === '*' && dst) {
        anyHost = dst;
        continue;
      }
      const src = splitHostPort(String(from));
      if (!src || !dst) throw new Error(`sidebyside: bad SIDEBYSIDE_ROUTES entry ${from} -> ${to}`);
      routes.set(`${normalizeHost(src.host)}:${src.port}`, dst);
      mockedHosts.add(normalizeHost(src.host));
    }
    const mockedList = [...mockedHosts].sort().join(', ');

    function splitHostPort(s) {
      const i = s.lastIndexOf(':');
      if (i <= 0) return null;
      let host = s.slice(0, i);
      const port = Number(s.slice(i + 1));
      if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      return { host, port };
    }

    function normalizeHost(h) {
      h = String(h).toLowerCase();
      if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
      if (h.length > 1 && h.endsWith('.')) h = h.slice(0, -1);
      return h;
    }

    function isLoopback(h) {
      if (h === 'localhost') return true;
      const family = net.isIP(h);
      if (family === 4) return h.startsWith('127.');
      if (family === 6) {
        return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
      }
      return false;
    }

    function notMocked(host, port) {
      if (anyHost) {
        // Only addresses are refused then.
        return new Error(
          `sidebyside: "${host}" is an address; a mapping without host answers every host name, ` +
            'but addresses are never routed to the mock (use a host name in the URL)'
        );
      }
      if (mockedHosts.has(host)) {
        // Known host, unmapped port: say which host:port pairs exist.
        const pairs = [...routes.keys()].filter((k) => k.startsWith(`${host}:`)).sort().join(', ');
        return new Error(
          `sidebyside: port ${port} of host "${host}" is not mocked; this run can reach only ${pairs} ` +
            '(add a mapping for the host or fix the URL)'
        );
      }
      return new Error(
        `sidebyside: host "${host}" is not mocked; this run can reach only ${mockedList} ` +
          '(add a mapping for the host or fix the URL)'
      );
    }

    // Returns { host, port } to connect to instead, null to pass unchanged,
    // or an Error to fail the connection with.
    function route(rawHost, rawPort) {
      const host = normalizeHost(rawHost === undefined || rawHost === null || rawHost === '' ? 'localhost' : rawHost);
      if (isLoopback(host)) return null;
      const port = Number(rawPort);
      const target = routes.get(`${host}:${port}`);
      if (target) return target;
      if (anyHost && net.isIP(host) === 0) return anyHost;
      writeEvent({ kind: 'refused', host, port: Number.isFinite(port) ? port : null });
      return notMocked(host, rawPort);
    }

    const originalConnect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function connect(...args) {
      // Shapes: ([options, cb] normalized by net.connect/tls.connect, with an
      // internal symbol on the array), (options[, cb]), (port[, host][, cb]),
      // (path[, cb]).
      let options;
      let normalized = false;
      if (Array.isArray(args[0])) {
        normalized = true;
        options = args[0][0];
      } else if (args[0] !== null && typeof args[0] === 'object') {
        options = args[0];
      } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\s*\d+\s*$/.test(args[0]))) {
        options = { port: args[0] };
        if (typeof args[1] === 'string') options.host = args[1];
        const cb = args.find((a) => typeof a === 'function');
        args = cb ? [options, cb] : [options];
      }
      if (!options || options.path !== undefined && options.path !== null) {
        return Reflect.apply(originalConnect, this, args);
      }
      const decision = route(options.host, options.port);
      if (decision === null) return Reflect.apply(originalConnect, this, args);
      if (decision instanceof Error) {
        Error.captureStackTrace(decision, connect); // stack starts at the caller
        // Fail the way a failed DNS lookup does: asynchronously, via 'error'.
        this.connecting = true;
        process.nextTick(() => this.destroy(decision));
        return this;
      }
      const rerouted = Object.assign({}, options, { host: decision.host, port: decision.port });
      if (normalized) {
        args[0][0] = rerouted; // keep the array: it carries net's internal marker
      } else {
        args[0] = rerouted;
      }
      return Reflect.apply(originalConnect, this, args);
    };
  }
}
