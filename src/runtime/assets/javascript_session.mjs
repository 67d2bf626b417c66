// sidebyside: marks the blocks of a page run as one JavaScript session.
//
// The page's JavaScript blocks are placed, in page order, at their own lines of one ES module,
// so they share their top-level bindings and imports, top-level `await` works, and a stack
// trace's line is the page's line. That module's first line imports `mark` from here, and the
// fence line above each block calls `mark(FENCE)`. Around each block this appends to the events
// file (SIDEBYSIDE_EVENTS):
//
//   {"kind":"block","phase":"start","line":FENCE,"at":MONOTONIC_SECONDS}
//   {"kind":"block","phase":"end","line":FENCE,"stdout":"...","stderr":"...","failed":false,
//    "wall_s":0.1,"cpu_s":0.05}
//
// A block ends where the next one starts; the last one when the process exits (so what its
// promises print later is its own), failed when the process exits with a non-zero status. An
// error thrown by a block ends the module, so the blocks after it never start.
//
// The page's hidden setup and teardown code stands at its own lines too, after a call to
// `hidden(LINE, TEARDOWN)` on its comment's first line: it ends the block before it, and when
// the process exits with a non-zero status while hidden code runs, this appends
//
//   {"kind":"hidden","line":LINE,"teardown":true,"failed":true}

import * as fs from "node:fs";

const eventsPath = process.env.SIDEBYSIDE_EVENTS;
const emit = (event) => {
  if (eventsPath) fs.appendFileSync(eventsPath, JSON.stringify(event) + "\n");
};

let current = null;
let started = 0;
let cpu = null;
const out = [];
const err = [];

// What each stream is given goes through, and a copy is kept for the current block.
const keep = (stream, kept) => {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    if (current !== null) {
      kept.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    }
    return write(chunk, ...rest);
  };
};
keep(process.stdout, out);
keep(process.stderr, err);

const end = (failed) => {
  if (current === null) return;
  const used = process.cpuUsage(cpu);
  emit({
    kind: "block",
    phase: "end",
    line: current,
    stdout: out.join(""),
    stderr: err.join(""),
    failed,
    wall_s: (performance.now() - started) / 1000,
    cpu_s: (used.user + used.system) / 1e6,
  });
  current = null;
};

let hiddenAt = null;

process.on("exit", (code) => {
  if (hiddenAt !== null && code !== 0) {
    emit({ kind: "hidden", line: hiddenAt.line, teardown: hiddenAt.teardown, failed: true });
  }
  end(code !== 0);
});

export function hidden(line, teardown) {
  end(false);
  hiddenAt = { line, teardown };
}

export function mark(line) {
  end(false);
  hiddenAt = null;
  out.length = 0;
  err.length = 0;
  current = line;
  started = performance.now();
  cpu = process.cpuUsage();
  // `at` is on the machine's monotonic clock (process.hrtime reads CLOCK_MONOTONIC), which the
  // mock's journal is laid against to give each block the requests it made.
  emit({ kind: "block", phase: "start", line, at: Number(process.hrtime.bigint()) / 1e9 });
}
