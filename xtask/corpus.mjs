// The public corpora `cargo xtask corpus` measures the collector's verdicts against, with
// what the reference parsers say of each string. Prints one JSON document on stdout.
//
// - crawlers: every instance of npm crawler-user-agents (real crawler User-Agents).
// - browsers: every distinct User-Agent of npm user-agents (real browsers, with the device
//   category the list records), and what ua-parser-js 1.x calls its browser family.
// - isbot: what npm isbot says of both, printed beside Stint's figures.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const root = new URL("../node_modules/", import.meta.url);
const read = (path) => JSON.parse(readFileSync(new URL(path, root), "utf8"));
const version = (pkg) => read(`${pkg}/package.json`).version;

const UAParser = require("ua-parser-js");
const { isbot } = require("isbot");

const crawlers = read("crawler-user-agents/crawler-user-agents.json").flatMap((e) => e.instances ?? []);
const seen = new Map();
for (const entry of read("user-agents/dist/user-agents.json")) {
  if (!seen.has(entry.userAgent)) seen.set(entry.userAgent, entry.deviceCategory);
}
const browsers = [...seen].map(([ua, device]) => {
  const parsed = new UAParser(ua).getResult();
  return { ua, device, family: parsed.browser.name ?? null, os: parsed.os.name ?? null };
});

process.stdout.write(
  JSON.stringify({
    sources: {
      crawlers: `crawler-user-agents ${version("crawler-user-agents")}`,
      browsers: `user-agents ${version("user-agents")}`,
      reference: `ua-parser-js ${version("ua-parser-js")}`,
      isbot: `isbot ${version("isbot")}`,
    },
    crawlers,
    browsers,
    isbot: {
      crawlers: crawlers.filter((ua) => isbot(ua)).length,
      browsers: browsers.filter((b) => isbot(b.ua)).length,
    },
  }),
);
