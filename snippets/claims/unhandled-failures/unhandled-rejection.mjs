// Claim: an unhandled rejection ends a Node process with a non-zero status. An async function
// that throws is called without await or .catch(); a 200 ms timer is still pending. Node (15 and
// later, --unhandled-rejections=throw) prints the error and exits 1 before the timer runs.
let timerRan = false;
process.on('exit', (code) => {
  console.log(JSON.stringify({ timer_ran: timerRan, exit_code_in_exit_handler: code }));
});

async function failing() {
  throw new Error('nobody handles this rejection');
}

failing();
setTimeout(() => {
  timerRan = true;
}, 200);
