// Claim: JavaScript awaits any value. `await` on a number, a string, a plain object or a plain
// function's result gives the value back; a thenable is followed.
function plainFunction() {
  return 7;
}
const plainObject = { a: 1 };

const evidence = {
  await_number: await 42,
  await_string: await 'text',
  await_plain_object_is_same: (await plainObject) === plainObject,
  await_plain_function_result: await plainFunction(),
  await_thenable: await {
    then(resolve) {
      resolve('from thenable');
    },
  },
};
console.log(JSON.stringify(evidence));
