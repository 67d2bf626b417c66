// Claim: JavaScript's event loop runs without being started. Like the article's snippet, this
// script just calls an async function and attaches .then(); nothing starts a loop, yet the
// promise callback and a timer run after the script's last statement.
async function fetchData() {
  const response = await fetch('https://api.example.com/data');
  return response.json();
}

let scriptFinished = false;
let timerRan = false;
setTimeout(() => {
  timerRan = true;
}, 10);

fetchData().then((data) => {
  setTimeout(() => {
    console.log(
      JSON.stringify({
        script_finished_before_callbacks: scriptFinished,
        promise_callback_ran: true,
        timer_callback_ran: timerRan,
        data_id: data.id,
      })
    );
  }, 20);
});

scriptFinished = true;
