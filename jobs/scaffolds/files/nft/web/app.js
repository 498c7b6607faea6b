// Front end for {{ contract_name }} ({{ frontend_label }}); reads web/deployment.json.
import { ethers } from "https://cdn.jsdelivr.net/npm/ethers@6/dist/ethers.min.js";
{% if frontend == "react" %}import React, { useState } from "https://esm.sh/react@18";
import { createRoot } from "https://esm.sh/react-dom@18/client";
import htm from "https://esm.sh/htm@3";
{% endif %}
const ABI = [
  "function totalSupply() view returns (uint256)",
  "function MAX_SUPPLY() view returns (uint256)",
  "function MINT_PRICE() view returns (uint256)",
  "function balanceOf(address) view returns (uint256)",
  "function mint() payable returns (uint256)",
];
const NAME = {{ name|js }};
const SYMBOL = {{ symbol|js }};
const DESCRIPTION = {{ description|default:"Your NFT collection."|js }};

async function connect() {
  if (!window.ethereum) throw new Error("No wallet found: install a browser wallet such as MetaMask.");
  const { address } = await (await fetch("deployment.json")).json();
  // No response cache: reads right after a transaction must see its effects.
  const provider = new ethers.BrowserProvider(window.ethereum, undefined, { cacheTimeout: -1 });
  return new ethers.Contract(address, ABI, await provider.getSigner());
}

async function summary(collection) {
  const me = await collection.runner.getAddress();
  const [minted, max, price, owned] = await Promise.all([
    collection.totalSupply(), collection.MAX_SUPPLY(), collection.MINT_PRICE(), collection.balanceOf(me),
  ]);
  return `${me} owns ${owned} ${SYMBOL} · minted ${minted} of ${max} · price ${ethers.formatEther(price)} ETH`;
}

async function mint(collection) {
  const tx = await collection.mint({ value: await collection.MINT_PRICE() });
  await tx.wait();
  return `Minted: ${tx.hash}`;
}

const describeError = (error) => error.shortMessage ?? error.message;
{% if frontend == "react" %}
const html = htm.bind(React.createElement);

function App() {
  const [collection, setCollection] = useState(null);
  const [account, setAccount] = useState("");
  const [status, setStatus] = useState("");
  const run = (action) => action().catch((error) => setStatus(describeError(error)));

  const onConnect = () => run(async () => {
    const connected = await connect();
    setCollection(connected);
    setAccount(await summary(connected));
  });
  const onMint = () => run(async () => {
    const connected = collection ?? await connect();
    setCollection(connected);
    setStatus("Minting…");
    setStatus(await mint(connected));
    setAccount(await summary(connected));
  });

  return html`
    <main>
      <h1>${NAME} <small>(${SYMBOL})</small></h1>
      <p>${DESCRIPTION}</p>
      <button onClick=${onConnect}>Connect wallet</button>
      <p aria-live="polite">${account}</p>
      <button onClick=${onMint}>Mint one</button>
      <p role="status">${status}</p>
    </main>`;
}

createRoot(document.getElementById("root")).render(html`<${App} />`);
{% else %}
const status = document.getElementById("status");
const account = document.getElementById("account");
let collection = null;

function run(action) {
  action().catch((error) => { status.textContent = describeError(error); });
}

document.getElementById("connect").addEventListener("click", () => run(async () => {
  collection = await connect();
  account.textContent = await summary(collection);
}));

document.getElementById("mint").addEventListener("click", () => run(async () => {
  collection ??= await connect();
  status.textContent = "Minting…";
  status.textContent = await mint(collection);
  account.textContent = await summary(collection);
}));
{% endif %}
