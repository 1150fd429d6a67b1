// fail (JavaScript): an async handler that always throws, to exercise the error path (Lambda
// reports {"errorType":"TypeError","errorMessage":"bad input: <name>","trace":[...]}).
export const handler = async (event) => {
  const qs = (event && event.queryStringParameters) || {};
  const name = qs.name || "world";
  throw new TypeError("bad input: " + name);
};
