// cjs (JavaScript): a CommonJS handler (index.js without "type": "module", as Lambda's Node
// runtime loads it), to prove gw wraps CommonJS code.
exports.handler = async (event) => ({ statusCode: 200, body: "cjs ok" });
