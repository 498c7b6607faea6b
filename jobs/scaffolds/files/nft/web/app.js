// The page of {{ contract_name }} ({{ frontend_label }}): what is minted, minting, and the owner's
// withdrawals and metadata. Reads web/deployment.json; the wallet side is in wallet.js.
import { confirmed, createSession, formatAmount, {% if frontend == "react" %}walletSummary{% else %}bindWallet{% endif %} } from "./wallet.js";
{% if frontend == "react" %}import htm from "./vendor/htm.module.js";

{% include "web/_react.js" %}
{% endif %}
const NAME = {{ name|js }};
const DESCRIPTION = {{ description|default:"Your NFT collection."|js }};
const SYMBOL = {{ symbol|js }};
const eth = (wei) => `${formatAmount(wei)} ETH`;

async function read({ contract, account, provider, deployment }) {
  const nft = contract("collection");
  const [minted, max, price, owned, owner, held{% if max_per_wallet %}, cap, used{% endif %}] = await Promise.all([
    nft.totalSupply(), nft.MAX_SUPPLY(), nft.MINT_PRICE(), nft.balanceOf(account), nft.owner(),
    provider.getBalance(deployment.contracts.collection.address),{% if max_per_wallet %}
    nft.MAX_PER_WALLET(), nft.mintedBy(account),{% endif %}
  ]);
  const received = await nft.queryFilter(nft.filters.Transfer(null, account), deployment.block);
  const ids = [...new Set(received.map((log) => log.args.tokenId))];
  const still = await Promise.all(ids.map(async (id) => ((await nft.ownerOf(id)) === account ? id : null)));
  const tokens = still.filter((id) => id !== null).map((id) => `#${id}`);
  return {
    minted: `${formatAmount(minted, 0)} of ${formatAmount(max, 0)}`,
    soldOut: minted >= max,
    price,
    priceText: `${eth(price)} (${price.toLocaleString("en")} wei)`,
    owned: `${owned} ${SYMBOL}${tokens.length ? `: ${tokens.join(", ")}` : ""}`,{% if max_per_wallet %}
    left: (cap - used).toString(),
    capped: used >= cap,{% endif %}
    isOwner: owner === account,
    held: eth(held),
    canWithdraw: held > 0n,
  };
}

// The contract's errors, in words.
const messages = {
  SoldOut: () => "Sold out: every token of the collection is minted.",
  WrongPayment: (expected, sent) => `A mint costs exactly ${eth(expected)}; ${eth(sent)} was sent.`,{% if max_per_wallet %}
  WalletCapReached: (cap) => `This wallet has minted its ${cap} tokens: the collection allows no more per address.`,{% endif %}
  NothingToWithdraw: () => "There are no payments to withdraw yet.",
  OwnableUnauthorizedAccount: () => "Only the collection's owner (the deployer) can do that.",
};

const mintLabel = (data) => (data.soldOut ? "Sold out" : data.capped ? "This wallet's cap is reached" : "Mint one");

const mint = async ({ contract }, say) => {
  const nft = contract("collection");
  const receipt = await confirmed(nft.mint({ value: await nft.MINT_PRICE() }), say);
  const [minted] = receipt.logs.map((log) => nft.interface.parseLog(log)).filter((log) => log?.name === "Transfer");
  return `Minted token #${minted.args.tokenId}: confirmed in block ${receipt.blockNumber}.`;
};

const withdraw = async ({ contract, provider, deployment }, say) => {
  const held = await provider.getBalance(deployment.contracts.collection.address);
  const receipt = await confirmed(contract("collection").withdraw(), say);
  return `Withdrew ${eth(held)} to your account: confirmed in block ${receipt.blockNumber}.`;
};

const setBaseURI = (form) => async ({ contract }, say) => {
  const uri = String(form.get("uri")).trim();
  const receipt = await confirmed(contract("collection").setBaseURI(uri), say);
  return `Metadata now lives under ${uri}: confirmed in block ${receipt.blockNumber}.`;
};
{% if frontend == "react" %}
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
      <section class="card" aria-labelledby="collection-title">
        <h2 id="collection-title">Collection</h2>
        <dl class="facts">
          <div><dt>Minted</dt><dd id="minted">${data.minted ?? "–"}</dd></div>
          <div><dt>Price</dt><dd id="price">${data.priceText ?? "–"}</dd></div>
          <div><dt>You own</dt><dd id="owned">${data.owned ?? "–"}</dd></div>{% if max_per_wallet %}
          <div><dt>You can still mint</dt><dd id="left">${data.left ?? "–"}</dd></div>{% endif %}
        </dl>
        <p class="actions">
          <button id="mint" type="button" disabled=${idle || data.soldOut || data.capped} onClick=${() => session.act(mint)}>
            ${mintLabel(data)}</button>
        </p>
      </section>
      ${data.isOwner && html`
        <section class="card" id="owner" aria-labelledby="owner-title">
          <h2 id="owner-title">Owner</h2>
          <dl class="facts"><div><dt>Mint payments held</dt><dd id="collected">${data.held}</dd></div></dl>
          ${data.canWithdraw && html`<p class="actions"><button id="withdraw" type="button" disabled=${idle} onClick=${() => session.act(withdraw)}>Withdraw payments</button></p>`}
          <form id="base-uri" onSubmit=${onSubmit((form) => session.act(setBaseURI(form)))}>
            <label>New metadata base URI <input name="uri" required placeholder="ipfs://…/" autocomplete="off" spellcheck="false" />
              <span class="hint">Token URIs become this followed by the token id; marketplaces are told (ERC-4906).</span></label>
            <button disabled=${idle}>Set base URI</button>
          </form>
        </section>`}
    </main>`;
}

window.ReactDOM.createRoot(document.getElementById("root")).render(html`<${App} />`);
{% else %}
const $ = (id) => document.getElementById(id);
const session = createSession({ read, messages, onChange: (view) => render(view) });
const showWallet = bindWallet(session);

function render(view) {
  showWallet(view);
  const data = view.data ?? {};
  $("minted").textContent = data.minted ?? "–";
  $("price").textContent = data.priceText ?? "–";
  $("owned").textContent = data.owned ?? "–";{% if max_per_wallet %}
  $("left").textContent = data.left ?? "–";{% endif %}
  $("mint").textContent = mintLabel(data);
  $("mint").disabled ||= Boolean(data.soldOut || data.capped);
  $("owner").hidden = !data.isOwner;
  $("collected").textContent = data.held ?? "–";
  $("withdraw").hidden = !data.canWithdraw;
}

$("mint").addEventListener("click", () => session.act(mint));
$("withdraw").addEventListener("click", () => session.act(withdraw));
$("base-uri").addEventListener("submit", (event) => {
  event.preventDefault();
  session.act(setBaseURI(new FormData(event.target)));
});
session.start();
{% endif %}
