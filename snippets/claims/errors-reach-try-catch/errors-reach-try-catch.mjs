// Claim: a rejected promise and an exception thrown in an async function both reach try/catch
// around an `await`. Without the await, the same try/catch catches nothing: the throw has become
// a rejected promise.
async function fails() {
  throw new Error('thrown inside an async function');
}

let caughtRejection = null;
try {
  await Promise.reject(new Error('rejected promise'));
} catch (error) {
  caughtRejection = error.message;
}

let caughtThrow = null;
try {
  await fails();
} catch (error) {
  caughtThrow = error.message;
}

let caughtWithoutAwait = null;
let callReturned = null;
try {
  const promise = fails();
  callReturned = promise.constructor.name;
  promise.catch(() => {}); // handled, so the process does not end with an unhandled rejection
} catch (error) {
  caughtWithoutAwait = error.message;
}

console.log(
  JSON.stringify({
    caught_rejected_promise: caughtRejection,
    caught_thrown_error: caughtThrow,
    caught_without_await: caughtWithoutAwait,
    failing_call_without_await_returns: callReturned,
  })
);
