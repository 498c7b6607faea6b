// The real-time transport's browser client, shared by every live page (no build step).
// Load it before the page's own script; it defines one global, `RealtimeLive.connect(options)`.
//
// One connection per page (or per browser, with `tabs`): an EventSource first; polling a URL
// when SSE cannot get through (refused, 5xx, a proxy that buffers it, heartbeats that stop);
// now and then a probe of SSE again, which takes over once its `ready` event arrives. Messages
// are applied once each, in id order (a `gapless` channel: 1, 2, 3 …) or newest-wins (a channel
// of whole states), whichever transport brought them.
//
// It never says "live" while nothing arrives: a live stream silent for the stall window, or
// one that fails, shows "reconnecting" at once and is opened again (and polled meanwhile).
// Every request has a deadline (a stream's `ready`, a poll's answer), so one that went out on
// a dead keep-alive connection is abandoned rather than waited for; when an answer comes back
// after failures the path has healed and the stream is tried again at once. The stream's
// control events:
//   ready   {heartbeat_s}  bytes get through; silence longer than 2 heartbeats is a stall
//   ping    {}             heartbeat
//   busy                   too many streams: poll instead
//   closing {retry_ms}     the server drains: the browser reconnects after `retry:` by itself
//
// options:
//   streamUrl(cursor), pollUrl(cursor)   where to connect; cursor = highest id applied
//   streamEvents                         names of the stream's message events
//   cursor                               the id the page was rendered at (default 0)
//   gapless                              ids have no gaps (wait for, or fetch, a missing one)
//   id(message)                          a message's id
//   apply(message, via)                  show one message (via: "sse", "poll" or "tab")
//   fromPoll(body)                       the messages of a poll's answer
//   onPoll(body)                         anything else a poll's answer says (optional)
//   isFinal(message), isDone(body)       the channel has ended (optional)
//   onFinish(lastMessageOrBody)          called once when it ends (optional)
//   onState(state, detail, viaTab)       connecting, live, reconnecting, polling, offline,
//                                        finished, gone
//   onRole(role)                         solo, leader or follower (optional)
//   tabs: {name}                         share one connection between the tabs of a browser
//   stallMs                              silence that counts as a stall (default: 2 heartbeats,
//                                        at least 5 s)
{
  const READY_TIMEOUT_MS = 5000;  // a stream that opened but says nothing: a buffering proxy
  const MIN_STALL_MS = 5000;  // silence allowed after `ready`: at least this, or 2 heartbeats
  const MAX_STREAM_ERRORS = 3;  // failed reconnects in a row before polling takes over
  const POLL_TIMEOUT_MS = 8000;  // a poll unanswered this long went out on a dead connection
  const RETRY_SOON_MS = 1000;  // after a poll timed out (it waited already): the next one
  const PROBE_FIRST_MS = 15000;  // while polling, try SSE again after this, then less often
  const PROBE_MAX_MS = 300000;
  const BACKOFF_FIRST_MS = 1000;  // failed polls: exponential backoff with jitter
  const BACKOFF_MAX_MS = 30000;
  const DEFAULT_POLL_MS = 5000;
  const GAP_WAIT_MS = 2000;  // a follower waits this long for the leader to fill a gap
  const TAKEOVER_MS = 500;  // a new leader waits this long for the old one's last events
  const HISTORY_MAX = 2000;  // messages a leader keeps for tabs that join later

  const jitter = (ms, spread = 0.2) => ms * (1 - spread / 2 + Math.random() * spread);
  const noop = () => {};

  const connect = (options) => {
    const o = {
      cursor: 0, gapless: false, streamEvents: [], stallMs: 0,
      onPoll: noop, isFinal: () => false, isDone: () => false, onFinish: noop, onRole: noop,
      ...options,
    };
    let lastId = Number(o.cursor || 0);
    let finished = false;
    let state = "connecting";
    const ahead = new Map();  // id -> message that arrived before the one it follows
    const history = [];  // messages applied here, replayed to tabs that join later

    // --- Messages: once each, in order --------------------------------------------------

    const receive = (messages, via) => {
      for (const message of messages) {
        const id = Number(o.id(message));
        if (id > lastId) ahead.set(id, message);
      }
      while (!finished && ahead.size) {
        const id = o.gapless ? lastId + 1 : Math.max(...ahead.keys());
        if (!ahead.has(id)) break;
        const message = ahead.get(id);
        if (!o.gapless) ahead.clear();
        ahead.delete(id);
        lastId = id;
        remember(message);
        o.apply(message, via);
        tabs.share([message]);
        if (o.isFinal(message)) finish(message);
      }
      if (ahead.size && !finished) repairGap();
    };

    const remember = (message) => {
      if (!o.gapless) history.length = 0;
      history.push(message);
      if (history.length > HISTORY_MAX) history.shift();
    };

    const finish = (last) => {
      if (finished) return;
      finished = true;
      ahead.clear();
      stream.close();
      poller.stop();
      o.onFinish(last);
      setState("finished");
      tabs.close();
    };

    // A gap means messages were missed (a tab that joined late): ask the leader, else poll.
    let gapTimer = 0;
    const repairGap = () => {
      if (gapTimer) return;
      if (tabs.role === "follower") tabs.hello();
      gapTimer = setTimeout(() => {
        gapTimer = 0;
        if (ahead.size && !finished) poller.once();
      }, tabs.role === "follower" ? GAP_WAIT_MS : 0);
    };

    // The state the person sees; a leader tells its followers too.
    const setState = (next, detail = "") => {
      state = next;
      o.onState(next, detail, false);
      tabs.shareState(next, detail);
    };

    // --- SSE ----------------------------------------------------------------------------

    const stream = {
      source: null,
      watchdog: 0,
      wasReady: false,  // this EventSource has worked at least once
      draining: false,  // the server said `closing`: the coming error is expected
      errors: 0,
      stallMs: READY_TIMEOUT_MS,
      probeTimer: 0,
      probeDelay: PROBE_FIRST_MS,

      open() {
        this.close();
        if (!("EventSource" in window)) return this.failed("unsupported");
        const source = this.source = new EventSource(o.streamUrl(lastId));
        this.errors = 0;
        this.wasReady = this.draining = false;
        this.stallMs = READY_TIMEOUT_MS;
        this.arm(READY_TIMEOUT_MS);
        source.onopen = () => this.arm(READY_TIMEOUT_MS);  // bytes must follow the headers
        source.onerror = () => this.error();
        source.addEventListener("ready", (m) => this.ready(JSON.parse(m.data || "{}")));
        source.addEventListener("ping", () => this.arm(this.stallMs));
        source.addEventListener("busy", () => this.failed("busy"));
        source.addEventListener("closing", (m) => this.closing(JSON.parse(m.data || "{}")));
        for (const type of o.streamEvents) {
          source.addEventListener(type, (message) => {
            this.arm(this.stallMs);
            receive([JSON.parse(message.data)], "sse");
          });
        }
        return undefined;
      },

      close() {
        clearTimeout(this.watchdog);
        clearTimeout(this.probeTimer);
        if (this.source) this.source.close();
        this.source = null;
      },

      // Silence for `ms` means the stream is stuck (a proxy buffers it, or heartbeats stopped).
      arm(ms) {
        clearTimeout(this.watchdog);
        this.watchdog = setTimeout(() => this.failed("stalled"), ms);
      },

      ready(info) {
        this.stallMs = o.stallMs || Math.max(MIN_STALL_MS, 2000 * Number(info.heartbeat_s || 0));
        this.errors = 0;
        this.wasReady = true;
        this.draining = false;
        this.probeDelay = PROBE_FIRST_MS;
        this.arm(this.stallMs);
        poller.stop();
        setState("live");
      },

      // The server is going away; EventSource comes back after the `retry:` it just sent.
      closing(info) {
        this.draining = true;
        this.arm(Number(info.retry_ms || 0) + READY_TIMEOUT_MS);
        if (!poller.active) setState("reconnecting", "the server is restarting");
      },

      error() {
        if (finished || !this.source) return undefined;
        // CLOSED: a non-200 answer (503 during a deploy): the browser will not retry by itself.
        if (this.source.readyState === EventSource.CLOSED) return this.failed("closed");
        if (this.draining) return undefined;  // expected: the watchdog covers the retry delay
        // Never got through (blocked, refused): poll now; a probe will try SSE again later.
        if (!this.wasReady) return this.failed("unreachable");
        this.errors += 1;
        if (this.errors >= MAX_STREAM_ERRORS) return this.failed("unstable");
        if (!poller.active) setState("reconnecting");
        return undefined;
      },

      failed(reason) {
        // A stream that was live and fell silent most likely met a dead path, not a proxy
        // that buffers (that one holds back `ready`): open it again now, poll meanwhile.
        const again = reason === "stalled" && this.wasReady;
        this.close();
        if (finished) return;
        if (state === "live") setState("reconnecting", again ? "the connection went silent" : "");
        if (!poller.active) poller.start(reason);
        if ("EventSource" in window) this.scheduleProbe(again ? 0 : null);
      },

      // While polling, try SSE again now and then; `ready` switches back to it.
      scheduleProbe(ms = null) {
        clearTimeout(this.probeTimer);
        if (ms !== null) {
          this.probeTimer = setTimeout(() => this.open(), ms);
          return;
        }
        this.probeTimer = setTimeout(() => this.open(), jitter(this.probeDelay, 0.5));
        this.probeDelay = Math.min(this.probeDelay * 2, PROBE_MAX_MS);
      },

      // The path answers again after failures: try the stream now rather than at its turn.
      healed() {
        if (finished || this.source || !("EventSource" in window)) return;
        this.probeDelay = PROBE_FIRST_MS;
        this.scheduleProbe(0);
      },
    };

    // --- Polling ------------------------------------------------------------------------

    const poller = {
      active: false,
      timer: 0,
      failures: 0,
      nextMs: DEFAULT_POLL_MS,
      etag: null,
      etagUrl: "",  // a validator is only good for the URL (cursor) it came with
      reason: "",
      busy: false,

      start(reason) {
        this.active = true;
        this.reason = reason;  // told to the server once, on the first poll
        this.failures = 0;
        this.schedule(0);
      },

      stop() {
        this.active = false;
        clearTimeout(this.timer);
      },

      schedule(ms) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.poll(), ms);
      },

      // One request outside the polling rhythm, whatever the transport.
      once() {
        if (!this.active && !finished) this.fetch().catch(noop);
      },

      async poll() {
        if (!this.active || finished) return undefined;
        if (this.busy) return this.schedule(250);  // a one-off request is on its way
        try {
          await this.fetch();
        } catch (error) {
          this.failed(error);
        }
        return undefined;
      },

      // The deadline covers the answer's body too: a connection may die half way through it.
      async fetch() {
        if (this.busy) return;
        this.busy = true;
        try {
          const url = o.pollUrl(lastId);
          const response = await fetch(url, {
            headers: this.headers(url), cache: "no-store", credentials: "same-origin",
            signal: AbortSignal.timeout(POLL_TIMEOUT_MS),
          });
          await this.handle(response, url);
        } finally {
          this.busy = false;
        }
      },

      headers(url) {
        const headers = { Accept: "application/json" };
        if (this.etag && this.etagUrl === url) headers["If-None-Match"] = this.etag;
        if (this.reason) headers["X-Realtime-Fallback"] = this.reason;
        return headers;
      },

      async handle(response, url) {
        if (response.status === 200) return this.answered(await response.json(), response, url);
        if (response.status === 304) return this.unchanged();
        if (response.status === 429) return this.slowDown(response);
        if (response.status === 404 || response.status === 403) return this.gone(response.status);
        const error = new Error(`poll of ${url} answered ${response.status}`);
        error.retryAfterS = Number(response.headers.get("Retry-After")) || 0;  // a 503's
        throw error;
      },

      answered(body, response, url) {
        this.etag = response.headers.get("ETag");
        this.etagUrl = url;
        this.reason = "";
        this.recovered();
        receive(o.fromPoll(body), "poll");
        o.onPoll(body);
        if (finished) return undefined;
        if (o.isDone(body)) return finish(body);
        if (!this.active) return undefined;
        this.nextMs = body.next_poll_ms || DEFAULT_POLL_MS;
        setState("polling");
        return this.schedule(body.more ? 0 : jitter(this.nextMs));
      },

      unchanged() {
        this.recovered();
        if (!this.active) return;
        setState("polling");
        this.schedule(jitter(this.nextMs));
      },

      slowDown(response) {
        const seconds = Number(response.headers.get("Retry-After")) || 5;
        if (!this.active) return;
        setState("polling", `slowed down, next check in ${seconds} s`);
        this.schedule(jitter(seconds * 1000) + 250);
      },

      gone(status) {
        this.stop();
        stream.close();
        finished = true;
        setState("gone", status === 403 ? "signed out" : "no longer available");
        tabs.close();
      },

      recovered() {
        if (this.failures) stream.healed();
        this.failures = 0;
      },

      // No answer in time: the request itself waited, so the next goes out soon (a request is
      // nearly always on its way, and the page hears the path heal within a second or so).
      // An answer that failed (refused, 5xx): back off exponentially, or as `Retry-After` says.
      failed(error) {
        this.failures += 1;
        const timedOut = error && error.name === "TimeoutError";
        const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
        const delay = timedOut ? jitter(RETRY_SOON_MS, 1)
          : error && error.retryAfterS ? jitter(error.retryAfterS * 1000) + 250
            : jitter(backoff, 1);  // anywhere between half and one and a half times
        const offline = navigator.onLine === false;
        const detail = offline ? "waiting for the network"
          : timedOut ? "no answer from the server" : `retrying in ${Math.ceil(delay / 1000)} s`;
        setState(offline ? "offline" : "reconnecting", detail);
        this.schedule(delay);
      },
    };

    addEventListener("online", () => {
      if (poller.active && poller.failures) poller.schedule(0);
      stream.healed();
    });
    addEventListener("offline", () => {
      if (!finished && tabs.role !== "follower") setState("offline", "waiting for the network");
    });

    // --- Tabs: one connection per browser (6 per origin over HTTP/1.1, across all tabs) --

    const tabs = {
      role: "solo",
      channel: null,
      lock: null,  // AbortController of a pending lock request
      release: null,  // ends the leadership (frees the lock)

      start() {
        const name = o.tabs && o.tabs.name;
        if (!name || !("BroadcastChannel" in window) || !navigator.locks) return this.lead();
        this.setRole("follower");
        this.channel = new BroadcastChannel(name);
        this.channel.onmessage = ({ data }) => this.heard(data);
        this.hello();
        this.lock = new AbortController();
        navigator.locks.request(name, { signal: this.lock.signal }, () => this.leadWhileHeld())
          .catch(noop);  // aborted: this tab finished before its turn came
        return undefined;
      },

      setRole(role) {
        this.role = role;
        o.onRole(role);
      },

      leadWhileHeld() {
        if (finished) return undefined;
        return new Promise((resolve) => {
          this.release = resolve;
          // A leader that just finished frees the lock right after posting its last
          // messages, which may still be on their way here: wait for them first.
          setTimeout(() => (finished ? resolve() : this.lead()), TAKEOVER_MS);
        });
      },

      lead() {
        this.setRole(this.role === "solo" ? "solo" : "leader");
        setState("connecting");
        stream.open();
      },

      hello() {
        if (this.channel) this.channel.postMessage({ kind: "hello", since: lastId });
      },

      share(messages) {
        if (this.role === "leader") this.channel.postMessage({ kind: "messages", messages });
      },

      shareState(next, detail) {
        if (this.role === "leader") this.channel.postMessage({ kind: "state", state: next, detail });
      },

      heard(message) {
        if (message.kind === "hello" && this.role === "leader") {
          this.share(history.filter((m) => Number(o.id(m)) > message.since));
          this.shareState(state, "");
        } else if (message.kind === "messages" && this.role === "follower") {
          receive(message.messages, "tab");
        } else if (message.kind === "state" && this.role === "follower" && !finished) {
          o.onState(message.state, message.detail, true);
        }
      },

      close() {
        if (this.lock) this.lock.abort();
        if (this.release) this.release();
        if (this.channel) this.channel.close();
        this.channel = null;
        this.role = "solo";
      },
    };

    tabs.start();
    return {
      /** Fetch the poll URL once now (e.g. for fields only a poll carries). */
      pollOnce: () => poller.once(),
      /** The highest id applied. */
      cursor: () => lastId,
      /** Stop everything, as if the channel had ended. */
      finish: () => finish(null),
    };
  };

  window.RealtimeLive = Object.freeze({ connect });
}
