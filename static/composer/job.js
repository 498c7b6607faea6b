// Live progress for the job page. Configured from data-* on its own <script> tag:
//   data-job-id, data-events-url (SSE), data-status-url (polling), data-last-seq, data-finished.
//
// One tab per job (the leader, chosen with the Web Locks API) holds the connection: an
// EventSource, or polling when SSE cannot get through; the other tabs follow over a
// BroadcastChannel and take over when the leader goes away. Every tab keeps the highest seq
// it has applied and applies each event once, in order, whichever way it came.
{
  const config = document.currentScript.dataset;
  const $ = (id) => document.getElementById(id);

  const JOB_EVENTS = ["job-update", "progress-update", "error-notification", "completion-status"];
  const READY_TIMEOUT_MS = 5000;  // a stream that opened but says nothing: a buffering proxy
  const MIN_STALL_MS = 5000;  // silence allowed after `ready`: at least this, or 2 heartbeats
  const MAX_STREAM_ERRORS = 3;  // failed reconnects in a row before polling takes over
  const PROBE_FIRST_MS = 15000;  // while polling, try SSE again after this, then less often
  const PROBE_MAX_MS = 300000;
  const BACKOFF_FIRST_MS = 1000;  // failed polls: exponential backoff with jitter
  const BACKOFF_MAX_MS = 30000;
  const GAP_WAIT_MS = 2000;  // a follower waits this long for the leader to fill a gap
  const TAKEOVER_MS = 500;  // a new leader waits this long for the old one's last events
  const WORDS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    polling: "Polling for updates (live connection unavailable)",
    offline: "Offline",
    finished: "Finished",
  };

  let lastSeq = Number(config.lastSeq || 0);
  let finished = config.finished === "true";
  const ahead = new Map();  // seq -> event that arrived before the one it follows
  const history = [];  // events applied in this tab, replayed to tabs that join later

  // --- The page --------------------------------------------------------------------------

  const render = (event, via) => {
    renderSnapshot(event);
    const etaKnown = event.eta_s && event.type !== "completion-status";
    $("job-eta").textContent = etaKnown ? `about ${event.eta_s} s left` : "";
    if (event.step) renderSteps(event.step.index);
    const li = document.createElement("li");
    li.dataset.seq = event.seq;
    li.dataset.via = via;
    li.className = event.type;
    li.textContent = event.message || `${event.percent} %`;
    $("job-log").append(li);
    if (event.type === "error-notification") showError(event.message);
  };

  // Status and percent, from an event or from a poll's snapshot (same field names).
  const renderSnapshot = (job) => {
    $("job").dataset.status = job.status;
    $("job-status").textContent = job.status;
    $("job-progress").value = job.percent;
    $("job-percent").textContent = `${job.percent} %`;
  };

  const renderSteps = (current) => {
    for (const li of $("job-steps").children) {
      const index = Number(li.dataset.index);
      setStep(li, index < current ? "done" : index === current ? "active" : "pending");
    }
  };

  const setStep = (li, state) => {
    li.className = `step ${state}`;
    li.querySelector(".state").textContent = state;
  };

  const showError = (message) => {
    $("job-error").textContent = message;
    $("job-error").hidden = false;
  };

  const renderFinish = (status) => {
    if (status === "succeeded") {
      for (const li of $("job-steps").children) setStep(li, "done");
      $("job-download").hidden = false;
    }
    const cancel = $("job-cancel");
    if (cancel) cancel.hidden = true;
  };

  const showState = (state, detail, viaTab) => {
    const el = $("connection");
    const text = WORDS[state] + (detail ? ` — ${detail}` : "") + (viaTab ? " (via another tab)" : "");
    el.dataset.state = state;
    if (el.textContent !== text) el.textContent = text;
  };

  // --- Events: once each, in order ---------------------------------------------------------

  const receive = (events, via) => {
    for (const event of events) if (event.seq > lastSeq) ahead.set(event.seq, event);
    while (!finished && ahead.has(lastSeq + 1)) {
      const event = ahead.get(lastSeq + 1);
      ahead.delete(event.seq);
      lastSeq = event.seq;
      history.push(event);
      render(event, via);
      tabs.share(event);
      if (event.type === "completion-status") finish(event.status);
    }
    if (ahead.size && !finished) repairGap();
  };

  const finish = (status) => {
    finished = true;
    ahead.clear();
    renderFinish(status);
    stream.close();
    poller.stop();
    setState("finished");
    tabs.close();
  };

  // A gap means events were missed (a tab that joined late): ask the leader, else the server.
  let gapTimer = 0;
  const repairGap = () => {
    if (gapTimer) return;
    if (tabs.role === "follower") tabs.hello();
    gapTimer = setTimeout(() => {
      gapTimer = 0;
      if (ahead.size && !finished) poller.once();
    }, tabs.role === "follower" ? GAP_WAIT_MS : 0);
  };

  const jitter = (ms, spread = 0.2) => ms * (1 - spread / 2 + Math.random() * spread);

  // The state the person sees; the leader tells its followers too.
  const setState = (state, detail = "") => {
    showState(state, detail, false);
    tabs.shareState(state, detail);
  };

  // --- SSE -----------------------------------------------------------------------------------

  const stream = {
    source: null,
    watchdog: 0,
    wasReady: false,  // this EventSource has worked at least once
    errors: 0,
    stallMs: READY_TIMEOUT_MS,
    probeTimer: 0,
    probeDelay: PROBE_FIRST_MS,

    open() {
      this.close();
      if (!("EventSource" in window)) return this.failed("unsupported");
      const source = this.source = new EventSource(`${config.eventsUrl}?last_event_id=${lastSeq}`);
      this.errors = 0;
      this.wasReady = false;
      this.stallMs = READY_TIMEOUT_MS;
      this.arm(READY_TIMEOUT_MS);
      source.onopen = () => this.arm(READY_TIMEOUT_MS);  // bytes must follow the headers
      source.onerror = () => this.error();
      source.addEventListener("ready", (message) => this.ready(JSON.parse(message.data)));
      source.addEventListener("ping", () => this.arm(this.stallMs));
      source.addEventListener("busy", () => this.failed("busy"));
      for (const type of JOB_EVENTS) {
        source.addEventListener(type, (message) => {
          this.arm(this.stallMs);
          receive([JSON.parse(message.data)], "sse");
        });
      }
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
      this.stallMs = Math.max(MIN_STALL_MS, 2000 * Number(info.heartbeat_s || 0));
      this.errors = 0;
      this.wasReady = true;
      this.probeDelay = PROBE_FIRST_MS;
      this.arm(this.stallMs);
      poller.stop();
      setState("live");
    },

    error() {
      if (finished || !this.source) return;
      // CLOSED: a non-200 answer (503 during a deploy): the browser will not retry by itself.
      if (this.source.readyState === EventSource.CLOSED) return this.failed("closed");
      // Never got through (blocked, refused): poll now; a probe will try SSE again later.
      if (!this.wasReady) return this.failed("unreachable");
      this.errors += 1;
      if (this.errors >= MAX_STREAM_ERRORS) return this.failed("unstable");
      if (!poller.active) setState("reconnecting");
    },

    failed(reason) {
      this.close();
      if (finished) return;
      if (!poller.active) poller.start(reason);
      if ("EventSource" in window) this.scheduleProbe();
    },

    // While polling, try SSE again now and then; `ready` switches back to it.
    scheduleProbe() {
      clearTimeout(this.probeTimer);
      this.probeTimer = setTimeout(() => this.open(), jitter(this.probeDelay, 0.5));
      this.probeDelay = Math.min(this.probeDelay * 2, PROBE_MAX_MS);
    },
  };

  // --- Polling ---------------------------------------------------------------------------------

  const poller = {
    active: false,
    timer: 0,
    failures: 0,
    nextMs: 1000,
    etag: null,
    etagSince: -1,
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

    // One request outside the polling rhythm (to fill a gap), whatever the transport.
    once() {
      if (!this.active) this.fetch().catch(() => {});
    },

    async poll() {
      if (!this.active || finished) return;
      if (this.busy) return this.schedule(250);  // a gap-filling request is on its way
      try {
        await this.fetch();
      } catch (error) {
        this.failed();
      }
    },

    async fetch() {
      if (this.busy) return;
      this.busy = true;
      try {
        const since = lastSeq;
        const response = await fetch(`${config.statusUrl}?since=${since}`, {
          headers: this.headers(since), cache: "no-store", credentials: "same-origin",
        });
        await this.handle(response, since);
      } finally {
        this.busy = false;
      }
    },

    headers(since) {
      const headers = { Accept: "application/json" };
      if (this.etag && this.etagSince === since) headers["If-None-Match"] = this.etag;
      if (this.reason) headers["X-Realtime-Fallback"] = this.reason;
      return headers;
    },

    async handle(response, since) {
      if (response.status === 200) return this.answered(await response.json(), response, since);
      if (response.status === 304) return this.unchanged();
      if (response.status === 429) return this.slowDown(response);
      if (response.status === 404 || response.status === 403) return this.gone();
      throw new Error(`status poll answered ${response.status}`);
    },

    answered(body, response, since) {
      this.etag = response.headers.get("ETag");
      this.etagSince = since;
      this.reason = "";
      this.failures = 0;
      receive(body.events, "poll");
      if (body.job.last_seq === lastSeq) renderSnapshot(body.job);  // else SSE is ahead
      if (finished || !this.active) return;
      if (body.next_poll_ms === null) return finish(body.job.status);
      this.nextMs = body.next_poll_ms;
      setState("polling");
      this.schedule(body.more ? 0 : jitter(this.nextMs));
    },

    unchanged() {
      this.failures = 0;
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

    gone() {
      this.stop();
      stream.close();
      setState("offline", "this job is no longer available to you");
    },

    failed() {
      this.failures += 1;
      const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
      const delay = jitter(ms, 1);  // anywhere between half and one and a half times
      const state = navigator.onLine === false || this.failures > 1 ? "offline" : "reconnecting";
      setState(state, `retrying in ${Math.ceil(delay / 1000)} s`);
      this.schedule(delay);
    },
  };

  addEventListener("online", () => {
    if (poller.active && poller.failures) poller.schedule(0);
  });
  addEventListener("offline", () => {
    if (!finished && tabs.role !== "follower") setState("offline", "waiting for the network");
  });

  // --- Tabs: one connection per browser per job ----------------------------------------------

  const tabs = {
    role: "solo",
    channel: null,
    lock: null,  // AbortController of a pending lock request
    release: null,  // ends the leadership (frees the lock)

    start() {
      const name = `composer-job-${config.jobId}`;
      if (!("BroadcastChannel" in window) || !navigator.locks || !config.jobId) return this.lead();
      this.role = $("connection").dataset.role = "follower";
      this.channel = new BroadcastChannel(name);
      this.channel.onmessage = ({ data }) => this.heard(data);
      this.hello();
      this.lock = new AbortController();
      navigator.locks.request(name, { signal: this.lock.signal }, () => this.leadWhileHeld())
        .catch(() => {});  // aborted: this tab finished before its turn came
    },

    leadWhileHeld() {
      if (finished) return undefined;
      return new Promise((resolve) => {
        this.release = resolve;
        // A leader that just finished frees the lock right after posting its last events,
        // which may still be on their way here: wait for them before opening a stream.
        setTimeout(() => (finished ? resolve() : this.lead()), TAKEOVER_MS);
      });
    },

    lead() {
      if (this.role !== "solo") this.role = "leader";
      $("connection").dataset.role = this.role;
      setState("connecting");
      stream.open();
    },

    hello() {
      if (this.channel) this.channel.postMessage({ kind: "hello", since: lastSeq });
    },

    share(event) {
      if (this.role === "leader") this.channel.postMessage({ kind: "events", events: [event] });
    },

    shareState(state, detail) {
      if (this.role === "leader") this.channel.postMessage({ kind: "state", state, detail });
    },

    heard(message) {
      if (message.kind === "hello" && this.role === "leader") {
        const events = history.filter((event) => event.seq > message.since);
        this.channel.postMessage({ kind: "events", events });
        this.shareState($("connection").dataset.state, "");
      } else if (message.kind === "events" && this.role === "follower") {
        receive(message.events, "tab");
      } else if (message.kind === "state" && this.role === "follower" && !finished) {
        showState(message.state, message.detail, true);
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

  if (finished) {
    showState("finished", "", false);
  } else {
    tabs.start();
  }
}
