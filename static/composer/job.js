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
  const WORDS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    polling: "Polling for updates (live connection unavailable)",
    offline: "Offline",
    finished: "Finished",
    gone: "Unavailable",
  };


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

  const start = () => RealtimeLive.connect({
    streamUrl: (cursor) => `${config.eventsUrl}?last_event_id=${cursor}`,
    pollUrl: (cursor) => `${config.statusUrl}?since=${cursor}`,
    streamEvents: JOB_EVENTS,
    cursor: Number(config.lastSeq || 0),
    gapless: true,
    id: (event) => event.seq,
    apply: render,
    fromPoll: (body) => body.events,
    // A snapshot newer than the events applied would run ahead of them (SSE is ahead).
    onPoll: (body) => { if (body.job.last_seq === live.cursor()) renderSnapshot(body.job); },
    isFinal: (event) => event.type === "completion-status",
    isDone: (body) => body.next_poll_ms === null,
    // The last event, or a poll's answer (whose snapshot is `job`).
    onFinish: (last) => renderFinish(!last ? "" : last.type ? last.status : last.job.status),
    onState: showState,
    onRole: (role) => { $("connection").dataset.role = role; },
    tabs: config.jobId ? { name: `composer-job-${config.jobId}` } : null,
  });

  let live = null;
  if (config.finished === "true") {
    showState("finished", "", false);
  } else {
    live = start();
  }
}
