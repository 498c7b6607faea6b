// Follow job $JOB on $BASE with token $TOKEN to its end (Node.js >= 20, eventsource 4).
// Prints each event once, in order, whatever the network does: a stream that sends no byte
// for two heartbeats is dead, and one that says no `ready` within 5 s is held back by a proxy
// (poll once instead); after either, or any error, it comes back with the last id it printed.
import { EventSource } from "eventsource";

const { BASE, TOKEN, JOB } = process.env;
const READY_MS = 5000; // a stream that says nothing this long after the request: held back
const JOB_EVENTS = ["job-update", "progress-update", "error-notification", "completion-status"];
const auth = { Authorization: `Bearer ${TOKEN}` };
let last = 0;

const show = (event) => {
  if (event.seq > last) console.log(event.seq, event.type, event.percent, event.message);
  last = Math.max(last, event.seq);
  if (event.type === "completion-status") process.exit(0);
};

// The events after `last`, once, for when the stream cannot get through.
const poll = async () => {
  try {
    const url = `${BASE}/api/jobs/${JOB}/status?since=${last}`;
    const answer = await fetch(url, { headers: auth, signal: AbortSignal.timeout(10_000) });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const body = await answer.json();
    body.events.forEach(show);
    if (body.next_poll_ms === null) process.exit(0);
  } catch (error) {
    console.error(`poll: ${error.message}`);
  }
};

const follow = () => {
  let ready = false;
  let quietMs = READY_MS;
  let watchdog = 0;
  let over = false;
  const source = new EventSource(`${BASE}/api/jobs/${JOB}/events`, {
    fetch: (url, init) =>
      fetch(url, { ...init, headers: { ...init.headers, ...auth, "Last-Event-ID": `${last}` } }),
  });
  const again = async (why) => {
    if (over) return;
    over = true;
    clearTimeout(watchdog);
    source.close();
    console.error(`stream: ${why}; again from ${last}`);
    if (!ready) await poll();
    setTimeout(follow, 1000);
  };
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => again(ready ? "no byte for two heartbeats" : "no ready"), quietMs);
  };
  arm();
  source.addEventListener("ready", (message) => {
    ready = true;
    quietMs = 2000 * JSON.parse(message.data).heartbeat_s;
    arm();
  });
  source.addEventListener("ping", arm);
  for (const type of JOB_EVENTS) {
    source.addEventListener(type, (message) => {
      arm();
      show(JSON.parse(message.data));
    });
  }
  // Any error (a refused or cut connection, a 5xx): come back here after a second, rather
  // than after EventSource's own `retry:` wait (or never, after a non-200 answer).
  source.addEventListener("error", (error) =>
    again(error.code ? `HTTP ${error.code}` : error.message || "connection failed"),
  );
};

follow();
