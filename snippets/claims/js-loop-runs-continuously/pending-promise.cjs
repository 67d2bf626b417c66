// Claim tested: "JS event loop runs continuously". A CommonJS script waits on a promise that
// nothing will ever settle. If the loop kept running, an unref'd 1 s timer (which by design does
// not keep Node alive) would fire; instead Node exits as soon as nothing is pending, the
// promise's .then never runs, and the exit status is 0.
const started = performance.now();
let thenRan = false;
let timerFired = false;
setTimeout(() => {
  timerFired = true;
}, 1000).unref();

new Promise(() => {}).then(() => {
  thenRan = true;
});

process.on('exit', (code) => {
  console.log(
    JSON.stringify({
      then_ran: thenRan,
      unref_timer_fired: timerFired,
      alive_ms: Math.round(performance.now() - started),
      exit_code_in_exit_handler: code,
    })
  );
});
