// Live staff dashboard. Configured from data-* on its own <script> tag:
//   data-events-url (SSE), data-snapshot-url (polling), data-last-id, data-interval-ms,
//   data-funnel-live ("false" when the page shows a funnel of its own choosing: a template, or
//   dates picked by hand, which the snapshots do not carry; it is left as the page drew it).
//
// Every message is a whole snapshot of server-rendered panels (HTML with SVG charts): the
// client only swaps them in, never an older one over a newer one, whichever way it came.
// The connection itself (SSE, polling fallback, probes, one connection shared by the tabs)
// is realtime/live.js; the connection state is shown in words.
{
  const config = document.currentScript.dataset;
  const $ = (id) => document.getElementById(id);

  const INTERVAL_MS = Number(config.intervalMs || 1000);
  const WORDS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    polling: "Polling for updates (live stream unavailable)",
    offline: "Offline — retrying",
    finished: "Stopped — reload the page",
    gone: "Signed out — reload the page to sign in again",
  };

  const showState = (state, detail, viaTab) => {
    const el = $("dash-connection");
    const text = WORDS[state] + (viaTab ? " (via another tab)" : "");
    el.dataset.state = state;
    if (el.textContent !== text) el.textContent = text;
  };

  // The panels are HTML rendered and escaped by the server (Django templates).
  const apply = (snapshot) => {
    for (const [name, html] of Object.entries(snapshot.panels)) {
      if (name === "funnel" && config.funnelLive === "false") continue;
      const panel = document.querySelector(`[data-panel="${name}"]`);
      if (panel) panel.innerHTML = html;
    }
    const updated = $("dash-updated");
    updated.dateTime = snapshot.generated_at;
    updated.textContent = `${snapshot.generated_at.slice(11, 19)} UTC`;
  };

  RealtimeLive.connect({
    streamUrl: () => config.eventsUrl,
    pollUrl: () => config.snapshotUrl,
    streamEvents: ["dashboard-snapshot"],
    cursor: Number(config.lastId || 0),
    id: (snapshot) => snapshot.id,
    apply,
    fromPoll: (snapshot) => [snapshot],
    onState: showState,
    // A snapshot comes every interval: a longer silence is a stall even between heartbeats.
    stallMs: Math.max(3 * INTERVAL_MS, 5000),
    tabs: { name: `composer-dashboard-${config.eventsUrl}` },
  });
}
