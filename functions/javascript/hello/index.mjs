// hello (JavaScript): the twin of functions/python/hello and functions/lambda-hello (Rust); the response body must match
// theirs byte for byte. COUNT is a module global: it survives between invocations of one warm
// execution environment, so x-count shows how many this environment has served.
let COUNT = 0;

export const handler = async (event, context) => {
  COUNT += 1;
  const qs = event.queryStringParameters || {};
  const name = qs.name || "world";
  // ?waitMs=N: wait N ms (a real timer) between the two readings of the time remaining.
  const wait = Number(qs.waitMs || 0);
  const r1 = context.getRemainingTimeInMillis();
  if (wait > 0) {
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const r2 = context.getRemainingTimeInMillis();
  const rc = event.requestContext || {};
  const body = {
    message: `Hello, ${name}!`,
    eventKeys: Object.keys(event).sort(),
    requestContextKeys: Object.keys(rc).sort(),
    functionName: context.functionName,
    requestId: context.awsRequestId,
    remainingMs: [r1, r2],
  };
  return {
    statusCode: 200,
    headers: {
      "content-type": "application/json",
      "x-count": String(COUNT),
      "x-language": "javascript",
    },
    body: JSON.stringify(body),
  };
};
