// Claim: JavaScript is async by default. Node's I/O calls and timers hand back at once and the
// program goes on; the answer arrives later through the event loop.
// Evidence: what fetch() returns, the order in which a timer callback and the statement after
// setTimeout ran, and what fs.promises.readFile and the classic fs.readFile return.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const order = [];
setTimeout(() => order.push('timer callback'), 0);
order.push('statement after setTimeout');

const pending = fetch('https://api.example.com/data');
const fetchReturns = pending?.constructor?.name;
const fetchReturnsThenable = typeof pending?.then === 'function';

const self = fileURLToPath(import.meta.url);
const readPromise = fs.promises.readFile(self);
const classicReturns = fs.readFile(self, () => {});

const response = await pending;
const data = await response.json();
await readPromise;

console.log(
  JSON.stringify({
    fetch_returns: fetchReturns,
    fetch_returns_thenable: fetchReturnsThenable,
    status: response.status,
    data_id: data.id,
    first_after_set_timeout: order[0],
    order,
    fs_promises_read_file_returns: readPromise.constructor.name,
    fs_read_file_returns: String(classicReturns),
  })
);
