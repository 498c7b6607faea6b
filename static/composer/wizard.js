// Real-time validation and autosave for the wizard's steps. Configured from data-* on its own
// <script> tag: data-validate-url, data-step. Without this script the wizard works the same:
// the server checks each step on Next, and stays the authority either way. Each autosave names
// the field last typed into (`focus`): the journey notes the option a person was on.
{
  const config = document.currentScript.dataset;
  const form = document.querySelector("form[data-wizard-form]");
  const DEBOUNCE_MS = 300;
  const VALIDATE_TIMEOUT_MS = 8000;  // a check on a dead connection is given up, not waited on
  const touched = new Set();  // errors show only for fields the person has changed
  let focus = "";  // the field last typed into
  let timer = null;
  let controller = null;

  const csrfToken = () => {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  };

  const body = () => {
    const data = new URLSearchParams(new FormData(form));
    data.set("step", config.step);
    if (focus) data.set("focus", focus);
    return data;
  };

  const controls = (name) => {
    const item = form.elements.namedItem(name);
    if (!item) return [];
    return item instanceof RadioNodeList ? Array.from(item) : [item];
  };

  // The element that names the field's error for assistive technology: a group's fieldset,
  // else the control itself (as Django renders it).
  const describer = (name) => {
    const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    const fieldset = wrapper && (wrapper.matches("fieldset") ? wrapper : wrapper.querySelector("fieldset"));
    return fieldset || controls(name)[0];
  };

  const setDescribedBy = (element, id, on) => {
    const ids = new Set((element.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean));
    if (on) ids.add(id); else ids.delete(id);
    if (ids.size) element.setAttribute("aria-describedby", Array.from(ids).join(" "));
    else element.removeAttribute("aria-describedby");
  };

  const showErrors = (name, messages) => {
    const id = `id_${name}_error`;
    let list = document.getElementById(id);
    const widget = document.getElementById(`id_${name}`);
    if (!widget || !describer(name)) return;
    if (!messages.length) {
      if (list) list.remove();
      for (const control of controls(name)) control.removeAttribute("aria-invalid");
      setDescribedBy(describer(name), id, false);
      return;
    }
    if (!list) {
      list = document.createElement("ul");
      list.id = id;
      list.className = "errorlist";
      widget.before(list);
    }
    list.replaceChildren(...messages.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
    for (const control of controls(name)) control.setAttribute("aria-invalid", "true");
    setDescribedBy(describer(name), id, true);
  };

  const check = async () => {
    timer = null;
    if (controller) controller.abort();  // only the latest answer matters
    controller = new AbortController();
    let errors;
    try {
      const response = await fetch(config.validateUrl, {
        method: "POST", body: body(), credentials: "same-origin",
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(VALIDATE_TIMEOUT_MS)]),
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
      if (!response.ok) return;  // Next will still be checked by the server
      ({ errors } = await response.json());
    } catch (error) {
      if (error.name !== "AbortError") form.dataset.validation = "offline";
      return;
    }
    form.dataset.validation = "ok";
    const names = new Set(Array.from(form.elements, (element) => element.name).filter(Boolean));
    for (const name of names) {
      const messages = errors[name] || [];
      if (touched.has(name) || document.getElementById(`id_${name}_error`)) showErrors(name, messages);
    }
  };

  const schedule = (event) => {
    if (!event.target.name) return;
    touched.add(event.target.name);
    focus = event.target.name;
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  };

  if (form && config.validateUrl) {
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", () => { clearTimeout(timer); timer = null; });
    // Leaving before the debounce fired: keep what was typed anyway. A beacon cannot send
    // headers, so the form's own csrfmiddlewaretoken field carries the CSRF token.
    window.addEventListener("pagehide", () => {
      if (timer === null) return;
      clearTimeout(timer);
      timer = null;
      navigator.sendBeacon(config.validateUrl, body());
    });
  }

  // Amounts typed in ETH show their wei beside them, as the contract will hold them.
  const WEI_DECIMALS = 18;
  const weiOf = (text) => {
    const match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(text);
    if (!match || (!match[1] && !match[2]) || (match[2] || "").length > WEI_DECIMALS) return "";
    const wei = BigInt(match[1] || "0") * 10n ** BigInt(WEI_DECIMALS) + BigInt((match[2] || "").padEnd(WEI_DECIMALS, "0") || "0");
    return `= ${wei.toLocaleString("en")} wei`;
  };
  for (const input of document.querySelectorAll("input[data-ether]")) {
    const output = Object.assign(document.createElement("output"), { className: "helptext", id: `${input.id}_wei` });
    output.setAttribute("for", input.id);
    input.after(output);
    const show = () => { output.textContent = weiOf(input.value); };
    input.addEventListener("input", show);
    show();
  }
}
