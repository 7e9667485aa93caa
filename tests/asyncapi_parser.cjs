// Parses an AsyncAPI document from standard input with the AsyncAPI project's own parser and
// prints its diagnostics as JSON: [{code, message, path, severity}] (0 error, 1 warning,
// 2 information, 3 hint). Exit code 1 when the parser gives no document.
const { Parser } = require("@asyncapi/parser");

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", async () => {
  const { document, diagnostics } = await new Parser().parse(text);
  const found = diagnostics.map(({ code, message, path, severity }) => ({
    code,
    message,
    path,
    severity,
  }));
  process.stdout.write(JSON.stringify(found));
  process.exitCode = document ? 0 : 1;
});
