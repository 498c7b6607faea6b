// Live progress for the job page. Configured from data-* on its own <script> tag.
{
  const config = document.currentScript.dataset;
  const $ = (id) => document.getElementById(id);
  let lastSeq = Number(config.lastSeq || 0);
  const TYPES = ["job-update", "progress-update", "error-notification", "completion-status"];

  const apply = (event) => {
    if (event.seq <= lastSeq) return;  // never apply an event twice
    lastSeq = event.seq;
    $("job").dataset.status = event.status;
    $("job-status").textContent = event.status;
    $("job-progress").value = event.percent;
    $("job-percent").textContent = `${event.percent} %`;
    $("job-eta").textContent = event.eta_s && event.type !== "completion-status" ? `about ${event.eta_s} s left` : "";
    if (event.step) {
      for (const li of $("job-steps").children) {
        const index = Number(li.dataset.index);
        const state = index < event.step.index ? "done" : index === event.step.index ? "active" : "pending";
        li.className = `step ${state}`;
        li.querySelector(".state").textContent = state;
      }
    }
    if (event.message) {
      const li = document.createElement("li");
      li.dataset.seq = event.seq;
      li.className = event.type;
      li.textContent = event.message;
      $("job-log").append(li);
    }
    if (event.type === "error-notification") {
      $("job-error").textContent = event.message;
      $("job-error").hidden = false;
    }
    if (event.type === "completion-status") finish(event.status);
  };

  const finish = (status) => {
    if (status === "succeeded") {
      for (const li of $("job-steps").children) { li.className = "step done"; li.querySelector(".state").textContent = "done"; }
      $("job-download").hidden = false;
    }
    const cancel = $("job-cancel");
    if (cancel) cancel.hidden = true;
    $("connection").textContent = "Finished";
    if (source) source.close();
  };

  let source = null;
  if (config.finished !== "true") {
    source = new EventSource(`${config.eventsUrl}?last_event_id=${lastSeq}`);
    source.onopen = () => { $("connection").textContent = "Live"; };
    source.onerror = () => { $("connection").textContent = source.readyState === EventSource.CLOSED ? "Offline" : "Reconnecting…"; };
    for (const type of TYPES) source.addEventListener(type, (message) => apply(JSON.parse(message.data)));
  } else {
    $("connection").textContent = "Finished";
  }
}
