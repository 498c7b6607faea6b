// Live progress for the job page, a timeline of its steps. Configured from data-* on its own
// <script> tag: data-job-id, data-job-name, data-events-url (SSE), data-status-url (polling),
// data-queue-url, data-last-seq, data-finished, data-vocabulary (the step states' words and
// shapes and the statuses' words, from jobs/timeline.py: one vocabulary for server and page).
//
// The connection is realtime/live.js: one tab per job holds it (SSE, or polling when SSE
// cannot get through), the other tabs follow; every event is applied once, in order. Steps
// follow the rule of jobs/timeline.py: a step starts at the first event carrying it and ends
// at the first event of a later step or at the final event; the events between are its
// detail lines; the raw error is not one (it is shown once, under "What went wrong").
//
// Every log line has a stable link, #seq-N (N is the event's seq, whichever transport brought
// it): opening it unfolds the log and the event's step and scrolls to the line. A filter box
// narrows the log to the lines containing what is typed.
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

  const VOCABULARY = JSON.parse(config.vocabulary || '{"steps": {}, "statuses": {}}');
  const QUEUE_CHECK_MS = 5000;  // a queued job's place, looked up this often
  let status = $("job").dataset.status;
  let skewMs = null;  // this clock minus the server's, from live events (latency included)

  let startedAt = $("job").dataset.started || "";  // when a worker took the job up

  const render = (event, via) => {
    if (via === "sse") noteClock(event.ts);
    if (!startedAt && event.type === "job-update" && event.status === "running") startedAt = event.ts;
    log(event, via);
    renderSnapshot(event);
    const etaKnown = event.eta_s && event.type !== "completion-status";
    $("job-eta").textContent = etaKnown ? `about ${event.eta_s} s left` : "";
    timeline.apply(event);
    if (event.type === "error-notification") showError(event.message);
    if (event.type === "completion-status" && event.status === "failed") explain(event.message);
  };

  const log = (event, via) => {
    const li = document.createElement("li");
    li.id = `seq-${event.seq}`;
    li.dataset.seq = event.seq;
    li.dataset.via = via;
    if (event.step) li.dataset.step = event.step.index;
    li.className = event.type;
    const anchor = document.createElement("a");
    anchor.className = "anchor";
    anchor.href = `#seq-${event.seq}`;
    anchor.textContent = `#${event.seq}`;
    anchor.setAttribute("aria-label", `Link to event ${event.seq}`);
    const text = document.createElement("span");
    text.className = "text";
    if (event.type === "error-notification") {
      const link = document.createElement("a");
      link.href = "#job-error";
      link.textContent = "Error: see “What went wrong”";
      text.append(link);
    } else {
      text.textContent = event.message || `${event.percent} %`;
    }
    li.append(anchor, " ", timeElement(event.ts), " ", text);
    $("job-log").append(li);
    $("job-log-count").textContent = $("job-log").children.length;
    logFilter.show(li);
    if (location.hash === `#${li.id}`) reveal();
  };

  // Status and percent, from an event or from a poll's snapshot (same field names).
  const renderSnapshot = (job) => {
    status = job.status;
    const look = statusLook(job.status);
    $("job").dataset.status = job.status;
    for (const el of document.querySelectorAll("#job [data-look]")) el.dataset.look = look;
    $("job").dataset.look = look;
    setText($("job-status"), statusWord(job.status));
    $("job-progress").value = job.percent;
    setText($("job-percent"), `${job.percent} %`);
    if (job.status !== "queued") $("job-queue").hidden = true;
    showTitle(job);
  };

  const statusWord = (value) => (VOCABULARY.statuses[value] || { label: value }).label;
  const statusLook = (value) => (VOCABULARY.statuses[value] || { state: "pending" }).state;

  const showTitle = (job) => {
    const finishedNow = ["succeeded", "failed", "cancelled"].includes(job.status);
    const icon = finishedNow ? `${stateIcon(statusLook(job.status))} ` : "";
    const head = finishedNow || job.status === "queued" ? statusWord(job.status) : `${job.percent} %`;
    document.title = `${icon}${head} · ${config.jobName} — dApp composer`;
  };

  const setText = (el, text) => {
    if (el.textContent !== String(text)) el.textContent = text;
  };

  // The raw error, once, folded away; the plain words come with the final event.
  const showError = (message) => {
    $("job-error-raw").querySelector("pre").textContent = message;
    $("job-error-raw").hidden = false;
    $("job-error").hidden = false;
  };

  // A failed job's final message: what went wrong, then (next line) what to change.
  const explain = (message) => {
    const [what, ...advice] = (message || "").split("\n");
    if (what) setText($("job-error-what"), what);
    const rest = advice.join(" ").trim();
    $("job-error-advice").querySelector("span").textContent = rest;
    $("job-error-advice").hidden = !rest;
    $("job-error").hidden = false;
  };

  const renderFinish = (final, endedAt) => {
    if (final) {
      status = final;
      timeline.settle(final);
      announce(`Generation ${statusWord(final).toLowerCase()}`);
    }
    if (startedAt && endedAt) {
      $("job-eta").textContent = `took ${durationText((Date.parse(endedAt) - Date.parse(startedAt)) / 1000)}`;
    }
    $("job-download").hidden = final !== "succeeded";
    for (const id of ["job-again", "job-edit"]) {
      if ($(id)) $(id).hidden = !["failed", "cancelled"].includes(final);
    }
    $("job-end").hidden = false;
    const cancel = $("job-cancel");
    if (cancel) cancel.hidden = true;
  };

  const announce = (text) => setText($("job-announce"), text);

  // --- Times ---------------------------------------------------------------------------------

  const noteClock = (ts) => {
    const skew = Date.now() - Date.parse(ts);
    if (skewMs === null || skew < skewMs) skewMs = skew;
  };

  const clock = (date) => date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit",
                                                          second: "2-digit", hour12: false });

  const timeElement = (iso) => {
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = clock(new Date(iso));
    return time;
  };

  // Same words as jobs/timeline.py duration_text.
  const durationText = (seconds) => {
    if (seconds < 9.95) return `${seconds.toFixed(1)} s`;  // would round up to "10.0 s"
    const whole = Math.round(seconds);
    if (whole < 60) return `${whole} s`;
    return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  };

  // The server wrote its times in UTC; a person reads their own clock.
  const localizeTimes = () => {
    for (const time of document.querySelectorAll("#job time[datetime]")) {
      time.textContent = clock(new Date(time.dateTime));
    }
  };

  // --- The timeline (the same rule as jobs/timeline.py) ---------------------------------

  const stateIcon = (state) => (VOCABULARY.steps[state] || { icon: "" }).icon;

  const timeline = {
    items: () => [...$("job-steps").children],
    item: (index) => $("job-steps").querySelector(`[data-index="${index}"]`),
    // The step running when the page was rendered: the last one that has started.
    current() {
      const started = this.items().filter((li) => li.querySelector(".when time"));
      return started.length ? started[started.length - 1] : null;
    },

    apply(event) {
      const current = this.current();
      const index = event.step ? event.step.index : null;
      if (event.type === "completion-status") return this.end(current, event.ts, "done");
      if (index !== null && (!current || index > Number(current.dataset.index))) {
        this.end(current, event.ts, "done");
        return this.begin(this.item(index), event);
      }
      if (current && event.message && event.type !== "error-notification") {
        this.detail(current, event.message);
      }
      return undefined;
    },

    begin(li, event) {
      if (!li) return;
      li.querySelector(".when").replaceChildren(timeElement(event.ts));
      this.setState(li, "running");
      li.querySelector("details").open = true;
      const label = li.querySelector(".label").textContent;
      if (event.message && event.message !== `${label}…`) this.detail(li, event.message);
      announce(`Step ${li.dataset.index} of ${this.items().length}: ${label}`);
    },

    end(li, ts, state) {
      if (!li || li.dataset.ended) return;
      li.dataset.ended = ts;
      const started = li.querySelector(".when time").dateTime;
      setText(li.querySelector(".took"), durationText((Date.parse(ts) - Date.parse(started)) / 1000));
      this.setState(li, state);
      li.querySelector("details").open = false;
    },

    detail(li, text) {
      const line = document.createElement("li");
      line.textContent = text;
      li.querySelector(".details").append(line);
    },

    setState(li, state) {
      li.dataset.state = state;
      li.className = `step ${state}`;
      setText(li.querySelector(".icon"), stateIcon(state));
      setText(li.querySelector(".state"), VOCABULARY.steps[state].label);
    },

    // How the job ended decides the look of the step it ended in.
    settle(final) {
      if (final === "succeeded") {
        for (const li of this.items()) this.setState(li, "done");
        return;
      }
      const last = this.current();
      if (last) {
        this.setState(last, statusLook(final));
        last.querySelector("details").open = final === "failed";
      }
      for (const li of this.items()) if (li.dataset.state === "pending") this.setState(li, "skipped");
    },

    // The running step's duration, counting.
    tick() {
      const li = this.current();
      if (!li || li.dataset.ended || li.dataset.state !== "running") return;
      const started = Date.parse(li.querySelector(".when time").dateTime);
      const now = Date.now() - (skewMs || 0);
      setText(li.querySelector(".took"), `${durationText(Math.max(0, now - started) / 1000)}…`);
    },
  };

  // --- The queue -------------------------------------------------------------------------------

  const queue = {
    timer: 0,
    start() {
      if (status === "queued" && config.queueUrl) this.timer = setTimeout(() => this.check(), QUEUE_CHECK_MS);
    },

    async check() {
      if (status !== "queued") return;
      try {
        const response = await fetch(config.queueUrl, {
          headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
          signal: AbortSignal.timeout(QUEUE_CHECK_MS),  // a dead keep-alive connection is left
        });
        if (response.ok) this.show(await response.json());
      } catch (error) {
        // The connection's own state says when the network is gone; try again later.
      }
      this.start();
    },

    show(place) {
      const el = $("job-queue");
      if (place.position === null || status !== "queued") {
        el.hidden = true;
        return;
      }
      const wait = place.wait_s === null
        ? `expected wait unknown${place.workers ? "" : " (no worker is running right now)"}`
        : `expected to start in about ${place.wait_s} s`;
      const strong = document.createElement("strong");
      strong.textContent = place.position;
      el.replaceChildren("Number ", strong, ` in the queue · ${wait}`);
      el.hidden = false;
    },
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
    onFinish: (last) => (last && last.type ? renderFinish(last.status, last.ts)
                                           : renderFinish(last ? last.job.status : "", "")),
    onState: showState,
    onRole: (role) => { $("connection").dataset.role = role; },
    tabs: config.jobId ? { name: `composer-job-${config.jobId}` } : null,
  });

  // --- Links to log lines, and the filter ---------------------------------------------------

  // Unfold the log and the event's step, and scroll to the line the address names (#seq-N).
  const reveal = () => {
    const match = /^#seq-(\d+)$/.exec(location.hash);
    const li = match && $(`seq-${match[1]}`);
    if (!li) return;
    $("job-log-box").open = true;
    const step = li.dataset.step && timeline.item(li.dataset.step);
    if (step) step.querySelector("details").open = true;
    if (li.hidden) logFilter.clear();
    for (const old of document.querySelectorAll("#job-log .linked")) old.classList.remove("linked");
    li.classList.add("linked");
    li.scrollIntoView({ block: "center" });
  };

  const logFilter = {
    input: $("job-log-filter"),
    matches(li) {
      const wanted = this.input.value.trim().toLowerCase();
      return !wanted || li.textContent.toLowerCase().includes(wanted);
    },
    show(li) { li.hidden = !this.matches(li); this.count(); },
    apply() {
      for (const li of $("job-log").children) li.hidden = !this.matches(li);
      this.count();
    },
    clear() { this.input.value = ""; this.apply(); },
    count() {
      const all = $("job-log").children.length;
      const shown = [...$("job-log").children].filter((li) => !li.hidden).length;
      setText($("job-log-shown"), this.input.value.trim() ? `${shown} of ${all} shown` : "");
    },
  };

  logFilter.input.closest(".log-filter").hidden = false;
  logFilter.input.addEventListener("input", () => logFilter.apply());
  addEventListener("hashchange", reveal);
  reveal();

  localizeTimes();
  let live = null;
  if (config.finished === "true") {
    showState("finished", "", false);
  } else {
    showState("connecting", "", false);
    live = start();
    queue.start();
    setInterval(() => timeline.tick(), 1000);
  }
}
