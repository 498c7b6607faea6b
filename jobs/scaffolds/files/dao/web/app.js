// The page of {{ contract_name }} ({{ frontend_label }}): your votes, proposing, voting{% if timelock_delay_s %}, queueing{% endif %} and
// executing; on the devnet, buttons that move the chain on instead of waiting. Reads
// web/deployment.json; the wallet side is in wallet.js.
import { confirmed, createSession, ethers, formatAmount, {% if frontend == "react" %}walletSummary{% else %}bindWallet{% endif %} } from "./wallet.js";
{% if frontend == "react" %}import htm from "./vendor/htm.module.js";

{% include "web/_react.js" %}
{% endif %}
const NAME = {{ name|js }};
const DESCRIPTION = {{ description|default:"Propose, vote and execute decisions together."|js }};
const SYMBOL = {{ token_symbol|js }};
const TIMELOCK = {{ timelock_delay_s|yesno:"true,false" }};
const STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];
const FOR = 1n, AGAINST = 0n, ABSTAIN = 2n;
const votes = (value) => formatAmount(value);

async function read({ contract, account, provider, deployment, devnet }) {
  const governor = contract("governor");
  const token = contract("token");
  const [block, balance, mine, delegatee, threshold, created] = await Promise.all([
    provider.getBlock("latest"), token.balanceOf(account), token.getVotes(account), token.delegates(account),
    governor.proposalThreshold(), governor.queryFilter(governor.filters.ProposalCreated(), deployment.block),
  ]);
  const proposals = await Promise.all(
    created.reverse().map(({ args }) => proposal(governor, args, { account, block, devnet: Boolean(devnet) })),
  );
  return {
    block: block.number,
    balance: `${votes(balance)} ${SYMBOL}`,
    votes: `${votes(mine)}${delegatee === account ? "" : " (delegate your tokens to vote)"}`,
    threshold: `${votes(threshold)} votes`,
    canDelegate: delegatee !== account && balance > 0n,
    canPropose: mine >= threshold,
    proposals,
  };
}

async function proposal(governor, args, { account, block, devnet }) {
  // By position: some names (values) clash with Array methods on ethers' Result.
  const [id, , targets, values, , calldatas, start, end, description] = args;
  const past = BigInt(block.number - 1); // quorum() looks at the supply of a past block
  const [state, tally, voted, quorum, eta] = await Promise.all([
    governor.state(id), governor.proposalVotes(id), governor.hasVoted(id, account),
    governor.quorum(start < past ? start : past), TIMELOCK ? governor.proposalEta(id) : 0n,
  ]);
  const name = STATES[Number(state)];
  const call = [[...targets], [...values], [...calldatas], ethers.id(description)];
  const now = BigInt(block.number);
  const left = Number(eta) - block.timestamp;
  return {
    id: id.toString(),
    description,
    state: name,
    when: {
      Pending: `Voting opens after block ${start} (now ${now})`,
      Active: `Voting open until block ${end} (now ${now})`,
      Succeeded: `Passed at block ${end}: ${TIMELOCK ? "queue it" : "execute it"}`,
      Defeated: `Voting closed at block ${end}`,
      Queued: left > 0 ? `Executable in ${left} s (timelock)` : "The timelock delay is over: execute it",
      Executed: "Done",
    }[name] ?? "",
    tally: `For ${votes(tally.forVotes)} · Against ${votes(tally.againstVotes)} · ` +
      `Abstain ${votes(tally.abstainVotes)} · quorum ${votes(quorum)}`,
    actions: actions(name, { id, call, voted, start, end, now, left, devnet }),
  };
}

// The buttons of one proposal, as [label, action] pairs, for the state it is in.
function actions(state, { id, call, voted, start, end, now, left, devnet }) {
  const list = [];
  const send = (label, method, args, done) => [label, async ({ contract }, say) => {
    const receipt = await confirmed(contract("governor")[method](...args), say);
    return `${done}: confirmed in block ${receipt.blockNumber}.`;
  }];
  const mine = (label, blocks, done) => [label, async ({ devnet: chain }, say) => {
    say(`Mining ${blocks} block(s) on the devnet…`);
    await chain.mine(blocks);
    return done;
  }];
  if (state === "Pending" && devnet) list.push(mine("Open voting now (devnet)", start - now + 1n, "Voting is open."));
  if (state === "Active" && !voted) {
    list.push(send("Vote For", "castVote", [id, FOR], "Voted For"));
    list.push(send("Vote Against", "castVote", [id, AGAINST], "Voted Against"));
    list.push(send("Abstain", "castVote", [id, ABSTAIN], "Abstained"));
  }
  if (state === "Active" && devnet) list.push(mine("Close voting now (devnet)", end - now + 1n, "Voting is closed."));
  if (state === "Succeeded" && TIMELOCK) list.push(send("Queue", "queue", call, "Queued in the timelock"));
  if (state === "Succeeded" && !TIMELOCK) list.push(send("Execute", "execute", call, "Executed"));
  if (state === "Queued" && left <= 0) list.push(send("Execute", "execute", call, "Executed"));
  if (state === "Queued" && left > 0 && devnet) {
    list.push(["Skip the delay (devnet)", async ({ devnet: chain }, say) => {
      say(`Moving the devnet's clock ${left} s on…`);
      await chain.skip(left);
      return "The timelock delay is over.";
    }]);
  }
  return list;
}

// The contracts' errors, in words.
const messages = {
  GovernorInsufficientProposerVotes: (proposer, have, need) =>
    `Proposing needs ${votes(need)} delegated votes; this account has ${votes(have)}.`,
  GovernorAlreadyCastVote: () => "This account has already voted on that proposal.",
  GovernorUnexpectedProposalState: (id, current) => `That proposal is ${STATES[Number(current)]} now: it cannot do that.`,
  TimelockUnexpectedOperationState: () => "The timelock delay is not over yet.",
};

const delegate = async ({ contract, account }, say) => {
  const receipt = await confirmed(contract("token").delegate(account), say);
  return `Your tokens now vote for you: confirmed in block ${receipt.blockNumber}.`;
};

const propose = (form) => async ({ contract, deployment }, say) => {
  const description = String(form.get("description") ?? "").trim();
  if (!description) throw new Error("Write what the DAO should decide first.");
  // A "signal" proposal: the decision is its text; executing it calls the executor with no data.
  const pending = contract("governor").propose([deployment.signalTarget], [0n], ["0x"], description);
  const receipt = await confirmed(pending, say);
  return `Proposed: confirmed in block ${receipt.blockNumber}. Voting opens after block ${receipt.blockNumber + 1}.`;
};
{% if frontend == "react" %}
function App() {
  const [view, session] = useSession({ read, messages });
  const data = view.data ?? {};
  const idle = view.busy || !view.connected;
  return html`
    <main>
      <header>
        <h1>${NAME}</h1>
        <p>${DESCRIPTION}</p>
      </header>
      <${WalletBar} view=${view} session=${session} />
      <section class="card" aria-labelledby="votes-title">
        <h2 id="votes-title">Your votes</h2>
        <dl class="facts">
          <div><dt>Your ${SYMBOL}</dt><dd id="balance">${data.balance ?? "–"}</dd></div>
          <div><dt>Your votes</dt><dd id="votes">${data.votes ?? "–"}</dd></div>
          <div><dt>Needed to propose</dt><dd id="threshold">${data.threshold ?? "–"}</dd></div>
        </dl>
        ${data.canDelegate && html`<p class="actions"><button id="delegate" type="button" disabled=${idle}
          onClick=${() => session.act(delegate)}>Delegate my votes to me</button></p>`}
      </section>
      <section class="card" aria-labelledby="propose-title">
        <h2 id="propose-title">New proposal</h2>
        <form id="propose" onSubmit=${onSubmit((form, element) => session.act(propose(form)).then((done) => done && element.reset()))}>
          <label>What should the DAO decide? <textarea name="description" rows="3" required></textarea></label>
          <button disabled=${idle}>Propose</button>
        </form>
      </section>
      <section class="card" aria-labelledby="proposals-title">
        <h2 id="proposals-title">Proposals</h2>
        <p class="hint" id="block">${data.block === undefined ? "" : `Latest block: ${data.block}`}</p>
        ${data.proposals?.length ? html`
          <table>
            <thead><tr><th>Proposal</th><th>State</th><th>Votes</th><th>Actions</th></tr></thead>
            <tbody id="proposals">
              ${data.proposals.map((p) => html`
                <tr key=${p.id}>
                  <td data-label="Proposal">${p.description}</td>
                  <td data-label="State"><strong>${p.state}</strong><br /><span class="hint">${p.when}</span></td>
                  <td data-label="Votes">${p.tally}</td>
                  <td data-label="Actions"><p class="actions">${p.actions.map(([label, action]) => html`
                    <button key=${label} type="button" disabled=${idle} onClick=${() => session.act(action)}>${label}</button>`)}</p></td>
                </tr>`)}
            </tbody>
          </table>` : html`<p class="empty">No proposals yet.</p>`}
      </section>
    </main>`;
}

window.ReactDOM.createRoot(document.getElementById("root")).render(html`<${App} />`);
{% else %}
const $ = (id) => document.getElementById(id);
const session = createSession({ read, messages, onChange: (view) => render(view) });
const showWallet = bindWallet(session);

function cell(row, label, ...children) {
  const td = row.insertCell();
  td.dataset.label = label;
  td.append(...children);
  return td;
}

function render(view) {
  showWallet(view);
  const data = view.data ?? {};
  $("balance").textContent = data.balance ?? "–";
  $("votes").textContent = data.votes ?? "–";
  $("threshold").textContent = data.threshold ?? "–";
  $("delegate").hidden = !data.canDelegate;
  $("block").textContent = data.block === undefined ? "" : `Latest block: ${data.block}`;
  const proposals = data.proposals ?? [];
  $("no-proposals").hidden = proposals.length > 0;
  $("proposals-table").hidden = proposals.length === 0;
  const body = $("proposals");
  body.replaceChildren();
  for (const p of proposals) {
    const row = body.insertRow();
    cell(row, "Proposal", p.description);
    const state = document.createElement("strong");
    state.textContent = p.state;
    const when = document.createElement("span");
    when.className = "hint";
    when.textContent = p.when;
    cell(row, "State", state, document.createElement("br"), when);
    cell(row, "Votes", p.tally);
    const buttons = document.createElement("p");
    buttons.className = "actions";
    for (const [label, action] of p.actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.disabled = view.busy || !view.connected;
      button.addEventListener("click", () => session.act(action));
      buttons.append(button);
    }
    cell(row, "Actions", buttons);
  }
}

$("delegate").addEventListener("click", () => session.act(delegate));
$("propose").addEventListener("submit", (event) => {
  event.preventDefault();
  session.act(propose(new FormData(event.target))).then((done) => done && event.target.reset());
});
session.start();
{% endif %}
