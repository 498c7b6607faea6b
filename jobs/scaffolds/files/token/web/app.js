// The page of {{ contract_name }} ({{ frontend_label }}): supply, balance, transfers{% if burnable %}, burning{% endif %}.
// Reads web/deployment.json (written by `npm run deploy`); the wallet side is in wallet.js.
import { address, amount, confirmed, createSession, formatAmount, short, {% if frontend == "react" %}walletSummary{% else %}bindWallet{% endif %} } from "./wallet.js";
{% if frontend == "react" %}import htm from "./vendor/htm.module.js";

{% include "web/_react.js" %}
{% endif %}
const NAME = {{ name|js }};
const DESCRIPTION = {{ description|default:"Your fungible token."|js }};
const SYMBOL = {{ symbol|js }};
const DECIMALS = {{ decimals }};
const units = (value) => `${formatAmount(value, DECIMALS)} ${SYMBOL}`;

async function read({ contract, account }) {
  const token = contract("token");
  const [supply, balance] = await Promise.all([token.totalSupply(), token.balanceOf(account)]);
  return { supply: units(supply), balance: units(balance) };
}

// The contract's errors, in words.
const messages = {
  ERC20InsufficientBalance: (sender, balance, needed) =>
    `Not enough ${SYMBOL}: ${short(sender)} holds ${units(balance)}, and that needs ${units(needed)}.`,
  ERC20InvalidReceiver: () => "Tokens cannot be sent to the zero address.",
};

const transfer = (form) => async ({ contract }, say) => {
  const to = address(form.get("to"), "To");
  const value = amount(form.get("amount"), DECIMALS, "Amount");
  const receipt = await confirmed(contract("token").transfer(to, value), say);
  return `Sent ${units(value)} to ${short(to)}: confirmed in block ${receipt.blockNumber}.`;
};
{% if burnable %}
const burn = (form) => async ({ contract }, say) => {
  const value = amount(form.get("amount"), DECIMALS, "Amount");
  const receipt = await confirmed(contract("token").burn(value), say);
  return `Burnt ${units(value)}: confirmed in block ${receipt.blockNumber}.`;
};
{% endif %}{% if frontend == "react" %}
function App() {
  const [view, session] = useSession({ read, messages });
  const data = view.data ?? {};
  const idle = view.busy || !view.connected;
  return html`
    <main>
      <header>
        <h1>${NAME} <small>(${SYMBOL})</small></h1>
        <p>${DESCRIPTION}</p>
      </header>
      <${WalletBar} view=${view} session=${session} />
      <section class="card" aria-labelledby="token-title">
        <h2 id="token-title">Token</h2>
        <dl class="facts">
          <div><dt>Total supply</dt><dd id="supply">${data.supply ?? "–"}</dd></div>
          <div><dt>Your balance</dt><dd id="balance">${data.balance ?? "–"}</dd></div>
        </dl>
      </section>
      <section class="card" aria-labelledby="send-title">
        <h2 id="send-title">Send ${SYMBOL}</h2>
        <form id="send" onSubmit=${onSubmit((form) => session.act(transfer(form)))}>
          <label>To <input name="to" required placeholder="0x…" autocomplete="off" spellcheck="false" /></label>
          <label>Amount <input name="amount" required inputmode="decimal" placeholder="1.5" autocomplete="off" /></label>
          <button disabled=${idle}>Send</button>
        </form>
      </section>{% if burnable %}
      <section class="card" aria-labelledby="burn-title">
        <h2 id="burn-title">Burn ${SYMBOL}</h2>
        <form id="burn" onSubmit=${onSubmit((form) => session.act(burn(form)))}>
          <label>Amount <input name="amount" required inputmode="decimal" placeholder="1" autocomplete="off" />
            <span class="hint">Destroys tokens from your own balance: the supply shrinks for good.</span></label>
          <button disabled=${idle}>Burn</button>
        </form>
      </section>{% endif %}
    </main>`;
}

window.ReactDOM.createRoot(document.getElementById("root")).render(html`<${App} />`);
{% else %}
const $ = (id) => document.getElementById(id);
const session = createSession({ read, messages, onChange: (view) => render(view) });
const showWallet = bindWallet(session);

function render(view) {
  showWallet(view);
  $("supply").textContent = view.data?.supply ?? "–";
  $("balance").textContent = view.data?.balance ?? "–";
}

const submit = (id, action) => $(id)?.addEventListener("submit", (event) => {
  event.preventDefault();
  session.act(action(new FormData(event.target)));
});
submit("send", transfer);{% if burnable %}
submit("burn", burn);{% endif %}
session.start();
{% endif %}
