// Run Lighthouse on one page, signed in: the session cookies are set in the browser first (as
// a person's would be), so the page's own requests (its stream, its polls) carry them too;
// Lighthouse's --extra-headers reach the page itself but not an EventSource.
//
//   CHROME_PATH=/usr/bin/chromium node lighthouse.mjs URL REPORT.json '{"sessionid": "..."}'
//
// Categories: accessibility and best practices. Nothing is downloaded: the browser is
// CHROME_PATH's.
import { writeFile } from "node:fs/promises";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const [url, reportPath, cookiesJson = "{}"] = process.argv.slice(2);
if (!url || !reportPath || !process.env.CHROME_PATH) {
  console.error("usage: CHROME_PATH=... node lighthouse.mjs URL REPORT.json [COOKIES_JSON]");
  process.exit(2);
}
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  const cookies = Object.entries(JSON.parse(cookiesJson));
  await browser.setCookie(...cookies.map(([name, value]) => ({ name, value, url })));
  const result = await lighthouse(
    url,
    {
      output: "json",
      logLevel: "error",
      onlyCategories: ["accessibility", "best-practices"],
      maxWaitForLoad: 15000,
    },
    undefined,
    page,
  );
  await writeFile(reportPath, result.report);
} finally {
  await browser.close();
}
