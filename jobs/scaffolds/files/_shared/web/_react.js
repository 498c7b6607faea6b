// React 18 (web/vendor/, loaded by index.html as window.React and window.ReactDOM) with htm:
// JSX-like templates that need no build step.
const { createElement, useEffect, useMemo, useState } = window.React;
const html = htm.bind(createElement);

/** The session (web/wallet.js) as React state: re-renders on every change of its view. */
function useSession(options) {
  const [view, setView] = useState({ connected: false, notice: "", status: "", busy: false, data: null });
  const session = useMemo(() => createSession({ ...options, onChange: setView }), []);
  useEffect(() => { session.start(); }, [session]);
  return [view, session];
}

function WalletBar({ view, session }) {
  return html`
    <section class="card wallet" aria-label="Wallet">
      <p id="wallet-state">${walletSummary(view)}</p>
      <p class="actions">
        ${!view.connected && html`<button id="connect" type="button" onClick=${() => session.connect()}>Connect wallet</button>`}
        ${view.canSwitch && html`<button id="switch" type="button" class="secondary" onClick=${() => session.switchChain()}>Switch to ${view.deployment.label}</button>`}
      </p>
    </section>
    <p id="notice" class="notice" role="alert">${view.notice}</p>
    <p id="status" class="status" role="status">${view.status}</p>`;
}

/** Call `handler` with the submitted form's fields, without reloading the page. */
const onSubmit = (handler) => (event) => {
  event.preventDefault();
  handler(new FormData(event.target), event.target);
};
