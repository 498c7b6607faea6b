// Front end for {{ contract_name }} ({{ frontend_label }}); reads web/deployment.json.
import { ethers } from "https://cdn.jsdelivr.net/npm/ethers@6/dist/ethers.min.js";
{% if frontend == "react" %}import React, { useState } from "https://esm.sh/react@18";
import { createRoot } from "https://esm.sh/react-dom@18/client";
import htm from "https://esm.sh/htm@3";
{% endif %}
const ABI = [
  "function listingCount() view returns (uint256)",
  "function listings(uint256) view returns (address seller, address buyer, address arbiter, uint256 price, uint8 state, string title)",
  "function list(string title, uint256 price, address arbiter) returns (uint256)",
  "function buy(uint256 id) payable",
  "function cancel(uint256 id)",
  "function markShipped(uint256 id)",
  "function release(uint256 id)",
  "function refund(uint256 id)",
  "function dispute(uint256 id)",
  "function resolve(uint256 id, bool payToSeller)",
];
const STATES = ["Listed", "Paid, in escrow", "Shipped", "Disputed", "Completed", "Refunded", "Cancelled"];
const NAME = {{ name|js }};
const DESCRIPTION = {{ description|default:"Buy and sell with the payment held in escrow."|js }};
const FEE_PERCENT = {{ fee_basis_points }} / 100;
const ARBITER_REQUIRED = {{ arbiter_required|yesno:"true,false" }};

async function connect() {
  if (!window.ethereum) throw new Error("No wallet found: install a browser wallet such as MetaMask.");
  const { address } = await (await fetch("deployment.json")).json();
  // No response cache: reads right after a transaction must see its effects.
  const provider = new ethers.BrowserProvider(window.ethereum, undefined, { cacheTimeout: -1 });
  const signer = await provider.getSigner();
  return { escrow: new ethers.Contract(address, ABI, signer), me: await signer.getAddress() };
}

async function send(pending) {
  const tx = await pending;
  await tx.wait();
  return `Done: ${tx.hash}`;
}

const accountSummary = (market) =>
  `${market.me} · each completed sale pays a ${FEE_PERCENT}% fee` +
  (ARBITER_REQUIRED ? " · every listing names an arbiter" : "");

function listItem(market, form) {
  const arbiter = form.get("arbiter") || ethers.ZeroAddress;
  return send(market.escrow.list(form.get("title"), ethers.parseEther(form.get("price")), arbiter));
}

const short = (address) => `${address.slice(0, 6)}…${address.slice(-4)}`;

async function loadListings(market) {
  const count = Number(await market.escrow.listingCount());
  const ids = Array.from({ length: count }, (_, i) => count - 1 - i);
  return Promise.all(ids.map(async (id) => {
    const item = await market.escrow.listings(id);
    const parties = [["seller", item.seller], ["buyer", item.buyer], ["arbiter", item.arbiter]]
      .filter(([, address]) => address !== ethers.ZeroAddress)
      .map(([role, address]) => `${role} ${short(address)}`);
    return {
      id,
      title: item.title,
      price: `${ethers.formatEther(item.price)} ETH`,
      state: STATES[Number(item.state)],
      parties: parties.join(", "),
      actions: listingActions(market, id, item),
    };
  }));
}

// The buttons the connected account may press for one listing, as [label, action] pairs.
function listingActions(market, id, item) {
  const is = (address) => address.toLowerCase() === market.me.toLowerCase();
  const call = (method, ...args) => () => send(market.escrow[method](id, ...args));
  const state = Number(item.state);
  const inProgress = state === 1 || state === 2;
  const actions = [];
  if (state === 0 && is(item.seller)) actions.push(["Cancel", call("cancel")]);
  if (state === 0 && !is(item.seller) && !is(item.arbiter)) {
    actions.push(["Buy", call("buy", { value: item.price })]);
  }
  if (state === 1 && is(item.seller)) actions.push(["Mark shipped", call("markShipped")]);
  if (inProgress && is(item.buyer)) actions.push(["Release payment", call("release")]);
  if (inProgress && is(item.seller)) actions.push(["Refund buyer", call("refund")]);
  if (inProgress && (is(item.buyer) || is(item.seller)) && item.arbiter !== ethers.ZeroAddress) {
    actions.push(["Dispute", call("dispute")]);
  }
  if (state === 3 && is(item.arbiter)) {
    actions.push(["Pay seller", call("resolve", true)], ["Refund buyer", call("resolve", false)]);
  }
  return actions;
}

const describeError = (error) => error.shortMessage ?? error.message;
{% if frontend == "react" %}
const html = htm.bind(React.createElement);

function App() {
  const [market, setMarket] = useState(null);
  const [listings, setListings] = useState([]);
  const [status, setStatus] = useState("");

  const run = (action) => async () => {
    try {
      const current = market ?? await connect();
      setMarket(current);
      setStatus("Working…");
      setStatus((await action(current)) ?? "");
      setListings(await loadListings(current));
    } catch (error) {
      setStatus(describeError(error));
    }
  };
  const onList = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    run((current) => listItem(current, form))();
  };

  return html`
    <main>
      <h1>${NAME}</h1>
      <p>${DESCRIPTION}</p>
      <button onClick=${run(async () => "")}>Connect wallet</button>
      <p aria-live="polite">${market && accountSummary(market)}</p>
      <form onSubmit=${onList}>
        <label>Item <input name="title" required /></label>
        <label>Price (ETH) <input name="price" type="number" min="0" step="any" required /></label>
        <label>Arbiter address <input name="arbiter" pattern="0x[0-9a-fA-F]{40}" required=${ARBITER_REQUIRED} /></label>
        <button>List item</button>
      </form>
      <table>
        <thead><tr><th>#</th><th>Item</th><th>Price</th><th>State</th><th>Parties</th><th></th></tr></thead>
        <tbody>
          ${listings.map((item) => html`
            <tr key=${item.id}>
              <td>${item.id}</td>
              <td>${item.title}</td>
              <td>${item.price}</td>
              <td>${item.state}</td>
              <td>${item.parties}</td>
              <td>${item.actions.map(([label, act]) => html`
                <button key=${label} onClick=${run(act)}>${label}</button>`)}</td>
            </tr>`)}
        </tbody>
      </table>
      <p role="status">${status}</p>
    </main>`;
}

createRoot(document.getElementById("root")).render(html`<${App} />`);
{% else %}
const status = document.getElementById("status");
let market = null;

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

async function refresh() {
  document.getElementById("account").textContent = accountSummary(market);
  const body = document.getElementById("listings");
  body.replaceChildren();
  for (const item of await loadListings(market)) {
    const row = body.insertRow();
    for (const text of [item.id, item.title, item.price, item.state, item.parties]) cell(row, text);
    const buttons = cell(row, "");
    for (const [label, act] of item.actions) {
      const button = document.createElement("button");
      button.textContent = label;
      button.addEventListener("click", run(act));
      buttons.append(button);
    }
  }
}

function run(action) {
  return async () => {
    try {
      market ??= await connect();
      status.textContent = "Working…";
      status.textContent = (await action(market)) ?? "";
      await refresh();
    } catch (error) {
      status.textContent = describeError(error);
    }
  };
}

document.getElementById("connect").addEventListener("click", run(async () => ""));
document.getElementById("list").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  run((current) => listItem(current, form))();
});
{% endif %}
