// Live staff dashboard. Configured from data-* on its own <script> tag:
//   data-events-url (SSE), data-snapshot-url (polling), data-last-id, data-interval-ms.
//
// Every message is a whole snapshot of server-rendered panels (HTML with SVG charts): the
// client only swaps them in, never an older one over a newer one, whichever way it came.
// It streams over EventSource; when the stream fails or goes quiet it polls the snapshot URL
// instead, and tries the stream again now and then. The connection state is shown in words.
{
  const config = document.currentScript.dataset;
  const $ = (id) => document.getElementById(id);

  const INTERVAL_MS = Number(config.intervalMs || 1000);
  const STALL_MS = Math.max(3 * INTERVAL_MS, 5000);  // a snapshot comes every interval
  const MAX_STREAM_ERRORS = 3;  // failed reconnects in a row before polling takes over
  const PROBE_MS = 30000;  // while polling, try the stream again this often
  const BACKOFF_MAX_MS = 30000;
  const WORDS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    polling: "Polling for updates (live stream unavailable)",
    offline: "Offline — retrying",
    refused: "Signed out — reload the page to sign in again",
  };

  let lastId = Number(config.lastId || 0);

  const showState = (state) => {
    const el = $("dash-connection");
    el.dataset.state = state;
    if (el.textContent !== WORDS[state]) el.textContent = WORDS[state];
  };

  // The panels are HTML rendered and escaped by the server (Django templates).
  const apply = (snapshot) => {
    if (snapshot.id <= lastId) return;
    lastId = snapshot.id;
    for (const [name, html] of Object.entries(snapshot.panels)) {
      const panel = document.querySelector(`[data-panel="${name}"]`);
      if (panel) panel.innerHTML = html;
    }
    const updated = $("dash-updated");
    updated.dateTime = snapshot.generated_at;
    updated.textContent = `${snapshot.generated_at.slice(11, 19)} UTC`;
  };

  // --- SSE -------------------------------------------------------------------------------

  const stream = {
    source: null,
    watchdog: 0,
    errors: 0,

    open() {
      this.close();
      if (!("EventSource" in window)) return fallback();
      const source = this.source = new EventSource(config.eventsUrl);
      source.addEventListener("dashboard-snapshot", (message) => {
        this.errors = 0;
        this.arm();
        apply(JSON.parse(message.data));
        poller.stop();  // a probe got through: the stream takes over again
        showState("live");
      });
      source.onerror = () => {
        this.errors += 1;
        // While polling this was a probe: it failed, keep polling.
        if (poller.running || source.readyState === EventSource.CLOSED
            || this.errors >= MAX_STREAM_ERRORS) return fallback();
        showState("reconnecting");
      };
      this.arm();
    },

    // Silence past the stall limit: a buffering proxy or a dead connection.
    arm() {
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(fallback, STALL_MS);
    },

    close() {
      clearTimeout(this.watchdog);
      if (this.source) this.source.close();
      this.source = null;
    },
  };

  // --- Polling -----------------------------------------------------------------------------

  const poller = {
    running: false,
    timer: 0,
    failures: 0,

    start() {
      if (this.running) return;
      this.running = true;
      this.failures = 0;
      this.tick();
    },

    stop() {
      this.running = false;
      clearTimeout(this.timer);
    },

    async tick() {
      let delay;
      try {
        const response = await fetch(config.snapshotUrl, {
          headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
        });
        if (response.status === 403) return this.refused();
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const snapshot = await response.json();
        if (!this.running) return;
        this.failures = 0;
        apply(snapshot);
        showState("polling");
        delay = snapshot.next_poll_ms || 5000;
      } catch (error) {
        this.failures += 1;
        showState("offline");
        delay = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
      }
      if (this.running) this.timer = setTimeout(() => this.tick(), delay);
    },

    refused() {
      this.stop();
      stream.close();
      clearTimeout(probeTimer);
      showState("refused");
    },
  };

  let probeTimer = 0;
  const fallback = () => {
    stream.close();
    poller.start();
    clearTimeout(probeTimer);
    probeTimer = setTimeout(() => stream.open(), PROBE_MS);
  };

  showState("connecting");
  stream.open();
}
