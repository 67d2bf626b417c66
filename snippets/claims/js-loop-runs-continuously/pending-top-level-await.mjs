// Claim tested: "JS event loop runs continuously". An ES module awaits, at top level, a promise
// that nothing will ever settle. If the loop kept running, an unref'd 1 s timer would fire;
// instead Node ends the process at once. Node 20 reports it with exit status 13 ("unsettled
// top-level await"); the line after the await never runs.
const started = performance.now();
let lineAfterAwaitRan = false;
let timerFired = false;
setTimeout(() => {
  timerFired = true;
}, 1000).unref();

process.on('exit', (code) => {
  console.log(
    JSON.stringify({
      line_after_await_ran: lineAfterAwaitRan,
      unref_timer_fired: timerFired,
      alive_ms: Math.round(performance.now() - started),
      exit_code_in_exit_handler: code,
    })
  );
});

await new Promise(() => {});
lineAfterAwaitRan = true;
