// The page of {{ contract_name }} ({{ frontend_label }}): listing, buying, shipping, releasing,
// refunds, disputes and deadlines, and withdrawing what is owed. Reads web/deployment.json; the
// wallet side is in wallet.js.
import { address, confirmed, createSession, ethers, formatAmount, short, {% if frontend == "react" %}walletSummary{% else %}bindWallet{% endif %} } from "./wallet.js";
{% if frontend == "react" %}import htm from "./vendor/htm.module.js";

{% include "web/_react.js" %}
{% endif %}
const NAME = {{ name|js }};
const DESCRIPTION = {{ description|default:"Buy and sell with the payment held in escrow."|js }};
const FEE_PERCENT = {{ fee_basis_points }} / 100;
const ARBITER_REQUIRED = {{ arbiter_required|yesno:"true,false" }};
const STATES = ["Listed", "Paid, in escrow", "Shipped", "Disputed", "Completed", "Refunded", "Cancelled"];
const [LISTED, FUNDED, SHIPPED, DISPUTED] = [0, 1, 2, 3];
const eth = (wei) => `${formatAmount(wei)} ETH`;
const date = (seconds) => new Date(Number(seconds) * 1000).toLocaleString("en");

/** "= 1,500,000,000,000,000,000 wei" for a typed price, or why it is not one. */
function weiOf(text) {
  if (!String(text).trim()) return "";
  try {
    return `= ${ethers.parseEther(String(text).trim()).toLocaleString("en")} wei`;
  } catch {
    return "not an amount of ETH (digits and a dot, like 0.25)";
  }
}

async function read({ contract, account, provider }) {
  const escrow = contract("escrow");
  const [count, credit, block] = await Promise.all([escrow.listingCount(), escrow.credits(account), provider.getBlock("latest")]);
  const ids = Array.from({ length: Number(count) }, (_, i) => Number(count) - 1 - i);
  const items = await Promise.all(ids.map(async (id) => [id, await escrow.listings(id)]));
  return {
    credit,
    creditText: eth(credit),
    listings: items.map(([id, item]) => listing(id, item, account, block.timestamp)),
  };
}

function listing(id, item, account, now) {
  const parties = [["seller", item.seller], ["buyer", item.buyer], ["arbiter", item.arbiter]]
    .filter(([, who]) => who !== ethers.ZeroAddress)
    .map(([role, who]) => `${role} ${who === account ? "(you)" : short(who)}`);
  const state = Number(item.state);
  const late = Number(item.deadline) < now;
  const due = { [FUNDED]: `seller ships by ${date(item.deadline)}`, [SHIPPED]: `buyer answers by ${date(item.deadline)}` }[state];
  return {
    id,
    title: item.title,
    price: eth(item.price),
    state: STATES[state] + (due ? ` (${due}${late ? ": passed" : ""})` : ""),
    parties: parties.join(", "),
    actions: actions(id, item, account, late),
  };
}

// The buttons the connected account may press for one listing, as [label, action] pairs.
function actions(id, item, account, late) {
  const is = (who) => who === account;
  const state = Number(item.state);
  const call = (label, method, args, done) => [label, async ({ contract }, say) => {
    const receipt = await confirmed(contract("escrow")[method](id, ...args), say);
    return `${done}: confirmed in block ${receipt.blockNumber}.`;
  }];
  const inProgress = state === FUNDED || state === SHIPPED;
  const list = [];
  if (state === LISTED && is(item.seller)) list.push(call("Cancel listing", "cancel", [], "Listing cancelled"));
  if (state === LISTED && !is(item.seller) && !is(item.arbiter)) {
    list.push(call(`Buy for ${eth(item.price)}`, "buy", [{ value: item.price }], "Paid into escrow"));
  }
  if (state === FUNDED && is(item.seller)) list.push(call("Mark shipped", "markShipped", [], "Marked shipped"));
  if (inProgress && is(item.buyer)) list.push(call("Release payment", "release", [], "Payment released to the seller"));
  if (inProgress && is(item.seller)) list.push(call("Refund buyer", "refund", [], "Buyer refunded"));
  if (inProgress && (is(item.buyer) || is(item.seller)) && item.arbiter !== ethers.ZeroAddress) {
    list.push(call("Dispute", "dispute", [], "Dispute opened: the arbiter decides"));
  }
  if (state === FUNDED && is(item.buyer) && late) {
    list.push(call("Take a refund (not shipped in time)", "refundAfterDeadline", [], "Refund credited to you"));
  }
  if (state === SHIPPED && is(item.seller) && late) {
    list.push(call("Take the payment (no answer in time)", "claimAfterDeadline", [], "Payment credited to you"));
  }
  if (state === DISPUTED && is(item.arbiter)) {
    list.push(call("Pay seller", "resolve", [true], "Seller paid"), call("Refund buyer", "resolve", [false], "Buyer refunded"));
  }
  return list;
}

// The contract's errors, in words.
const messages = {
  WrongState: (current) => `That listing is ${STATES[Number(current)]} now: it cannot do that.`,
  NotAllowed: () => "This account is not the one who may do that for this listing.",
  ArbiterNeeded: () => (ARBITER_REQUIRED ? "Every listing needs an arbiter: give the arbiter's address." : "That sale has no arbiter, so it cannot be disputed."),
  BadArbiter: () => "The arbiter cannot be the seller.",
  ZeroPrice: () => "Give the item a price above 0.",
  WrongPayment: (expected, sent) => `The price is ${eth(expected)}; ${eth(sent)} was sent.`,
  TooEarly: (deadline) => `Not before ${date(deadline)}.`,
  NothingToWithdraw: () => "Nothing is owed to this account.",
};

const listItem = (form) => async ({ contract }, say) => {
  const title = String(form.get("title") ?? "").trim();
  if (!title) throw new Error("Item: say what you are selling.");
  let price;
  try {
    price = ethers.parseEther(String(form.get("price")).trim());
  } catch {
    throw new Error(`Price: “${form.get("price")}” is not an amount of ETH (digits and a dot, like 0.25).`);
  }
  const typed = String(form.get("arbiter") ?? "").trim();
  const arbiter = typed ? address(typed, "Arbiter") : ethers.ZeroAddress;
  const receipt = await confirmed(contract("escrow").list(title, price, arbiter), say);
  return `Listed “${title}” for ${eth(price)}: confirmed in block ${receipt.blockNumber}.`;
};

const withdraw = async ({ contract, account }, say) => {
  const owed = await contract("escrow").credits(account);
  const receipt = await confirmed(contract("escrow").withdraw(), say);
  return `Withdrew ${eth(owed)} to your account: confirmed in block ${receipt.blockNumber}.`;
};

const ROLES = `Each completed sale pays a ${FEE_PERCENT}% fee to the marketplace` +
  (ARBITER_REQUIRED ? "; every listing names an arbiter." : ".");
{% if frontend == "react" %}
function App() {
  const [view, session] = useSession({ read, messages });
  const [price, setPrice] = useState("");
  const data = view.data ?? {};
  const idle = view.busy || !view.connected;
  return html`
    <main>
      <header>
        <h1>${NAME}</h1>
        <p>${DESCRIPTION}</p>
      </header>
      <${WalletBar} view=${view} session=${session} />
      <section class="card" aria-labelledby="owed-title">
        <h2 id="owed-title">Your money</h2>
        <dl class="facts"><div><dt>Yours to withdraw</dt><dd id="credit">${data.creditText ?? "–"}</dd></div></dl>
        ${data.credit > 0n && html`<p class="actions"><button id="withdraw" type="button" disabled=${idle}
          onClick=${() => session.act(withdraw)}>Withdraw</button></p>`}
      </section>
      <section class="card" aria-labelledby="list-title">
        <h2 id="list-title">Sell an item</h2>
        <p class="hint">${ROLES}</p>
        <form id="list" onSubmit=${onSubmit((form, element) => session.act(listItem(form)).then((done) => done && (element.reset(), setPrice(""))))}>
          <label>Item <input name="title" required autocomplete="off" /></label>
          <label>Price (ETH) <input name="price" required inputmode="decimal" placeholder="0.25" autocomplete="off"
            value=${price} onInput=${(event) => setPrice(event.target.value)} aria-describedby="price-wei" />
            <output id="price-wei" class="hint">${weiOf(price)}</output></label>
          <label>Arbiter address <input name="arbiter" required=${ARBITER_REQUIRED} placeholder=${ARBITER_REQUIRED ? "0x…" : "0x… (optional)"} autocomplete="off" spellcheck="false" /></label>
          <button disabled=${idle}>List item</button>
        </form>
      </section>
      <section class="card" aria-labelledby="listings-title">
        <h2 id="listings-title">Listings</h2>
        ${data.listings?.length ? html`
          <table>
            <thead><tr><th>#</th><th>Item</th><th>Price</th><th>State</th><th>Parties</th><th>Actions</th></tr></thead>
            <tbody id="listings">
              ${data.listings.map((item) => html`
                <tr key=${item.id}>
                  <td data-label="#">${item.id}</td>
                  <td data-label="Item">${item.title}</td>
                  <td data-label="Price">${item.price}</td>
                  <td data-label="State">${item.state}</td>
                  <td data-label="Parties">${item.parties}</td>
                  <td data-label="Actions"><p class="actions">${item.actions.map(([label, action]) => html`
                    <button key=${label} type="button" disabled=${idle} onClick=${() => session.act(action)}>${label}</button>`)}</p></td>
                </tr>`)}
            </tbody>
          </table>` : html`<p class="empty">No listings yet.</p>`}
      </section>
    </main>`;
}

window.ReactDOM.createRoot(document.getElementById("root")).render(html`<${App} />`);
{% else %}
const $ = (id) => document.getElementById(id);
const session = createSession({ read, messages, onChange: (view) => render(view) });
const showWallet = bindWallet(session);
$("roles").textContent = ROLES;

function render(view) {
  showWallet(view);
  const data = view.data ?? {};
  $("credit").textContent = data.creditText ?? "–";
  $("withdraw").hidden = !(data.credit > 0n);
  const listings = data.listings ?? [];
  $("no-listings").hidden = listings.length > 0;
  $("listings-table").hidden = listings.length === 0;
  const body = $("listings");
  body.replaceChildren();
  for (const item of listings) {
    const row = body.insertRow();
    for (const [label, text] of [["#", item.id], ["Item", item.title], ["Price", item.price], ["State", item.state], ["Parties", item.parties]]) {
      const td = row.insertCell();
      td.dataset.label = label;
      td.textContent = text;
    }
    const buttons = document.createElement("p");
    buttons.className = "actions";
    for (const [label, action] of item.actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.disabled = view.busy || !view.connected;
      button.addEventListener("click", () => session.act(action));
      buttons.append(button);
    }
    const td = row.insertCell();
    td.dataset.label = "Actions";
    td.append(buttons);
  }
}

$("price").addEventListener("input", (event) => { $("price-wei").textContent = weiOf(event.target.value); });
$("withdraw").addEventListener("click", () => session.act(withdraw));
$("list").addEventListener("submit", (event) => {
  event.preventDefault();
  session.act(listItem(new FormData(event.target))).then((done) => {
    if (!done) return;
    event.target.reset();
    $("price-wei").textContent = "";
  });
});
session.start();
{% endif %}
