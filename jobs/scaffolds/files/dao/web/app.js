// Front end for {{ contract_name }} ({{ frontend_label }}); reads web/deployment.json.
import { ethers } from "https://cdn.jsdelivr.net/npm/ethers@6/dist/ethers.min.js";
{% if frontend == "react" %}import React, { useState } from "https://esm.sh/react@18";
import { createRoot } from "https://esm.sh/react-dom@18/client";
import htm from "https://esm.sh/htm@3";
{% endif %}
const GOVERNOR_ABI = [
  "event ProposalCreated(uint256 proposalId, address proposer, address[] targets, uint256[] values, string[] signatures, bytes[] calldatas, uint256 voteStart, uint256 voteEnd, string description)",
  "function propose(address[] targets, uint256[] values, bytes[] calldatas, string description) returns (uint256)",
  "function castVote(uint256 proposalId, uint8 support) returns (uint256)",
  "function execute(address[] targets, uint256[] values, bytes[] calldatas, bytes32 descriptionHash) payable returns (uint256)",
  "function state(uint256 proposalId) view returns (uint8)",
  "function proposalVotes(uint256 proposalId) view returns (uint256 againstVotes, uint256 forVotes, uint256 abstainVotes)",
  "function hasVoted(uint256 proposalId, address account) view returns (bool)",
];
const TOKEN_ABI = [
  "function balanceOf(address) view returns (uint256)",
  "function getVotes(address) view returns (uint256)",
  "function delegate(address delegatee)",
];
const STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];
const NAME = {{ name|js }};
const SYMBOL = {{ token_symbol|js }};
const DESCRIPTION = {{ description|default:"Propose, vote and execute decisions together."|js }};

async function connect() {
  if (!window.ethereum) throw new Error("No wallet found: install a browser wallet such as MetaMask.");
  const deployment = await (await fetch("deployment.json")).json();
  // No response cache: reads right after a transaction must see its effects.
  const provider = new ethers.BrowserProvider(window.ethereum, undefined, { cacheTimeout: -1 });
  const signer = await provider.getSigner();
  return {
    governor: new ethers.Contract(deployment.address, GOVERNOR_ABI, signer),
    token: new ethers.Contract(deployment.token, TOKEN_ABI, signer),
    fromBlock: deployment.block ?? 0,
    me: await signer.getAddress(),
  };
}

async function send(pending) {
  const tx = await pending;
  await tx.wait();
  return `Done: ${tx.hash}`;
}

async function accountSummary(dao) {
  const [balance, votes] = await Promise.all([dao.token.balanceOf(dao.me), dao.token.getVotes(dao.me)]);
  return `${dao.me}: ${ethers.formatEther(balance)} ${SYMBOL}, ${ethers.formatEther(votes)} votes`;
}

const delegate = (dao) => send(dao.token.delegate(dao.me));

// A "signal" proposal: the decision is its text; executing it only calls the governor with no data.
async function propose(dao, description) {
  return send(dao.governor.propose([await dao.governor.getAddress()], [0n], ["0x"], description));
}

async function loadProposals(dao) {
  const events = await dao.governor.queryFilter(dao.governor.filters.ProposalCreated(), dao.fromBlock);
  return Promise.all(events.reverse().map(async ({ args }) => {
    // By position: some names (values) clash with Array methods on ethers' Result.
    const [id, , targets, values, , calldatas, , voteEnd, description] = args;
    const [state, votes, voted] = await Promise.all([
      dao.governor.state(id), dao.governor.proposalVotes(id), dao.governor.hasVoted(id, dao.me),
    ]);
    const vote = (support) => () => send(dao.governor.castVote(id, support));
    const execute = () => send(dao.governor.execute(
      [...targets], [...values], [...calldatas], ethers.id(description),
    ));
    const actions = {
      1: voted ? [] : [["For", vote(1)], ["Against", vote(0)], ["Abstain", vote(2)]],
      4: [["Execute", execute]],
    };
    return {
      id: id.toString(),
      description,
      state: `${STATES[Number(state)]} (voting ends at block ${voteEnd})`,
      tally: [votes.forVotes, votes.againstVotes, votes.abstainVotes].map((v) => ethers.formatEther(v)).join(" / "),
      actions: actions[Number(state)] ?? [],
    };
  }));
}

const describeError = (error) => error.shortMessage ?? error.message;
{% if frontend == "react" %}
const html = htm.bind(React.createElement);

function App() {
  const [dao, setDao] = useState(null);
  const [account, setAccount] = useState("");
  const [proposals, setProposals] = useState([]);
  const [status, setStatus] = useState("");

  const refresh = async (current) => {
    setAccount(await accountSummary(current));
    setProposals(await loadProposals(current));
  };
  const run = (action) => async () => {
    try {
      const current = dao ?? await connect();
      setDao(current);
      setStatus("Working…");
      setStatus((await action(current)) ?? "");
      await refresh(current);
    } catch (error) {
      setStatus(describeError(error));
    }
  };
  const onPropose = (event) => {
    event.preventDefault();
    const description = new FormData(event.target).get("description");
    run((current) => propose(current, description))();
  };

  return html`
    <main>
      <h1>${NAME}</h1>
      <p>${DESCRIPTION}</p>
      <button onClick=${run(async () => "")}>Connect wallet</button>
      <button onClick=${run(delegate)}>Delegate my votes to me</button>
      <p aria-live="polite">${account}</p>
      <form onSubmit=${onPropose}>
        <label>New proposal <textarea name="description" rows="3" required></textarea></label>
        <button>Propose</button>
      </form>
      <table>
        <thead><tr><th>Proposal</th><th>State</th><th>For / Against / Abstain</th><th></th></tr></thead>
        <tbody>
          ${proposals.map((p) => html`
            <tr key=${p.id}>
              <td>${p.description}</td>
              <td>${p.state}</td>
              <td>${p.tally}</td>
              <td>${p.actions.map(([label, act]) => html`
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
let dao = null;

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

async function refresh() {
  document.getElementById("account").textContent = await accountSummary(dao);
  const body = document.getElementById("proposals");
  body.replaceChildren();
  for (const proposal of await loadProposals(dao)) {
    const row = body.insertRow();
    cell(row, proposal.description);
    cell(row, proposal.state);
    cell(row, proposal.tally);
    const buttons = cell(row, "");
    for (const [label, act] of proposal.actions) {
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
      dao ??= await connect();
      status.textContent = "Working…";
      status.textContent = (await action(dao)) ?? "";
      await refresh();
    } catch (error) {
      status.textContent = describeError(error);
    }
  };
}

document.getElementById("connect").addEventListener("click", run(async () => ""));
document.getElementById("delegate").addEventListener("click", run(delegate));
document.getElementById("propose").addEventListener("submit", (event) => {
  event.preventDefault();
  const description = new FormData(event.target).get("description");
  run((current) => propose(current, description))();
});
{% endif %}
