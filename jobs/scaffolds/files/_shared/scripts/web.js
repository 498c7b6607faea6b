// `npm run web`: serves web/ (the page, its vendored libraries, deployment.json) on this machine
// only, at http://127.0.0.1:3000/ (`npm run web -- --port 3001` for another port).
const http = require("node:http");
const handler = require("serve-handler");

const flag = process.argv.indexOf("--port");
const port = Number(flag >= 0 ? process.argv[flag + 1] : 3000);
// No caching: the page must see a new deployment.json after each `npm run deploy`.
const options = { public: "web", headers: [{ source: "**", headers: [{ key: "Cache-Control", value: "no-store" }] }] };

http
  .createServer((request, response) => handler(request, response, options))
  .listen(port, "127.0.0.1", () => console.log(`Serving web/ at http://127.0.0.1:${port}/ (Ctrl+C stops)`));
