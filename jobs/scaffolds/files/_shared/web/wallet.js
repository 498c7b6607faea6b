// The wallet side of this project's page, whatever its flavour: the deployment, the wallet and
// its chain, a transaction and its receipt, what went wrong in words, and (on the devnet only)
// moving the chain on. The page's own app.js says what to read and what to send.
import { ethers } from "./vendor/ethers.min.js";

export { ethers };

const NO_DEPLOYMENT =
  "This project is not deployed yet: run `npm run node`, then `npm run deploy`, and reload this page.";
const POLL_MS = 1500;

export const short = (address) => `${address.slice(0, 6)}…${address.slice(-4)}`;

/** An amount for people: 1,000,000 or 1,234.5 (not 1000000.0). */
export function formatAmount(value, decimals = 18) {
  const [whole, fraction] = ethers.formatUnits(value, decimals).split(".");
  const grouped = BigInt(whole).toLocaleString("en");
  return fraction && fraction !== "0" ? `${grouped}.${fraction}` : grouped;
}

/** Read web/deployment.json, which `npm run deploy` writes. */
export async function loadDeployment() {
  const response = await fetch("deployment.json", { cache: "no-store" }).catch(() => null);
  if (!response?.ok) throw new Error(NO_DEPLOYMENT);
  return response.json();
}

function noWallet(deployment) {
  const devnet = deployment?.rpcUrl
    ? ` In it, add the network ${deployment.label} (RPC URL ${deployment.rpcUrl}, chain id ` +
      `${deployment.chainId}) and import one of the accounts \`npm run node\` printed.`
    : "";
  return `No wallet found: install a browser wallet such as MetaMask, then reload this page.${devnet}`;
}

/** Return the contract error a failed call or transaction carries, decoded with the ABIs. */
function revertOf(error, interfaces) {
  if (error?.revert?.name) return error.revert;
  const data = error?.data;
  if (typeof data !== "string" || data.length < 10) return null;
  for (const iface of interfaces) {
    const parsed = (() => { try { return iface.parseError(data); } catch { return null; } })();
    if (parsed) return { name: parsed.name, args: [...parsed.args] };
  }
  return null;
}

/**
 * Return what went wrong, in words; `messages` explains the contracts' own errors by name,
 * which `interfaces` (the deployed contracts' ABIs) decode.
 */
export function explain(error, messages = {}, interfaces = []) {
  const code = error?.code ?? error?.error?.code;
  if (code === "ACTION_REJECTED" || code === 4001) return "You rejected the request in your wallet.";
  const revert = revertOf(error, interfaces);
  if (revert?.name) {
    const say = messages[revert.name];
    return say ? say(...revert.args) : `The contract refused: ${revert.name}(${revert.args.join(", ")}).`;
  }
  if (code === "INSUFFICIENT_FUNDS") return "This account cannot pay for that (the amount plus gas).";
  if (code === "CALL_EXCEPTION") return `The contract refused${error.reason ? `: ${error.reason}` : "."}`;
  return error?.shortMessage ?? error?.message ?? String(error);
}

/** Wait for a sent transaction to be mined, saying so; return its receipt. */
export async function confirmed(pending, say) {
  const tx = await pending;
  say(`Sent ${short(tx.hash)}: waiting for it to be mined…`);
  return tx.wait();
}

/** Parse an amount typed by a person, with a message that names the field. */
export function amount(text, decimals, what) {
  try {
    const value = ethers.parseUnits(String(text).trim(), decimals);
    if (value < 0n) throw new Error("negative");
    return value;
  } catch {
    throw new Error(`${what}: “${text}” is not an amount (use digits and a dot, like 1.5).`);
  }
}

/** Check a typed address; return it checksummed. */
export function address(text, what) {
  if (!ethers.isAddress(String(text).trim())) throw new Error(`${what}: “${text}” is not an address (0x and 40 hex digits).`);
  return ethers.getAddress(String(text).trim());
}

/** The devnet's own RPC (never a public network's): mine blocks, move time on. */
export function devnet(deployment) {
  if (!deployment?.rpcUrl) return null;
  const rpc = new ethers.JsonRpcProvider(deployment.rpcUrl, deployment.chainId, { staticNetwork: true });
  return {
    mine: (blocks) => rpc.send("hardhat_mine", [ethers.toQuantity(blocks)]),
    skip: async (seconds) => {
      await rpc.send("evm_increaseTime", [ethers.toQuantity(seconds)]);
      await rpc.send("evm_mine", []);
    },
  };
}

/** One line about the wallet: who is connected, to what. */
export function walletSummary(view) {
  if (!view.account) return "Not connected";
  if (view.canSwitch) return `${short(view.account)} on another network`;
  return `Connected as ${view.account} on ${view.deployment.label} (chain ${view.deployment.chainId})`;
}

/**
 * Open the page's session: the deployment, the wallet's account and chain, and the template's
 * figures (`read(connection)`), all handed to `onChange(view)` after every change. Listens for
 * the wallet's account and chain changes and for new blocks, and reads again after each.
 */
export function createSession({ read, messages = {}, onChange }) {
  const view = {
    deployment: null, account: null, connected: false, canSwitch: false,
    data: null, notice: "", status: "", busy: false,
  };
  let connection = null;
  let interfaces = [];
  let attempt = 0; // a newer connection attempt makes an older one's answers stale
  let timer = null;
  let lastBlock = -1;
  const show = (changes) => {
    Object.assign(view, changes);
    onChange({ ...view });
  };

  async function refresh() {
    if (!connection) return;
    try {
      show({ data: await read(connection) });
    } catch (error) {
      show({ notice: explain(error, messages, interfaces) });
    }
  }

  async function poll() {
    if (!connection) return;
    const block = await connection.provider.getBlockNumber().catch(() => lastBlock);
    if (block !== lastBlock) {
      lastBlock = block;
      await refresh();
    }
  }

  async function open(ask) {
    const mine = ++attempt;
    clearInterval(timer);
    connection = null;
    show({ connected: false, canSwitch: false, notice: "" });
    try {
      const deployment = await loadDeployment();
      interfaces = Object.values(deployment.contracts).map(({ abi }) => new ethers.Interface(abi));
      show({ deployment });
      const ethereum = window.ethereum;
      if (!ethereum) return show({ account: null, notice: noWallet(deployment) });
      const accounts = await ethereum.request({ method: ask ? "eth_requestAccounts" : "eth_accounts" });
      if (mine !== attempt) return;
      if (!accounts.length) return show({ account: null });
      const account = ethers.getAddress(accounts[0]);
      const chainId = Number(await ethereum.request({ method: "eth_chainId" }));
      if (chainId !== deployment.chainId) {
        return show({
          account, canSwitch: true,
          notice: `Your wallet is on chain ${chainId}, but this project is deployed on ` +
            `${deployment.label} (chain ${deployment.chainId}): switch your wallet to it.`,
        });
      }
      const provider = new ethers.BrowserProvider(ethereum, deployment.chainId, { cacheTimeout: -1 });
      const signer = await provider.getSigner(account);
      if (mine !== attempt) return;
      const contract = (key) => {
        const { address: at, abi } = deployment.contracts[key];
        return new ethers.Contract(at, abi, signer);
      };
      connection = { deployment, provider, signer, account, contract, devnet: devnet(deployment) };
      show({ account, connected: true });
      lastBlock = -1;
      await poll();
      timer = setInterval(poll, POLL_MS);
    } catch (error) {
      if (mine === attempt) show({ notice: explain(error, messages, interfaces) });
    }
  }

  async function switchChain() {
    const { deployment } = view;
    const chainId = ethers.toQuantity(deployment.chainId);
    try {
      await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (error) {
      if (error?.code !== 4902 || !deployment.rpcUrl) return show({ notice: explain(error, messages) });
      await window.ethereum.request({
        method: "wallet_addEthereumChain",
        params: [{ chainId, chainName: deployment.label, rpcUrls: [deployment.rpcUrl],
                   nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 } }],
      }).catch((failure) => show({ notice: explain(failure, messages) }));
    }
  }

  /**
   * Run one of the page's actions: `action(connection, say)` returns what to say when done.
   * Return whether it succeeded.
   */
  async function act(action) {
    if (!connection) await open(true);
    if (!connection) return false;
    show({ busy: true, notice: "", status: "Confirm in your wallet…" });
    try {
      const done = await action(connection, (status) => show({ status }));
      show({ status: done ?? "" });
      return true;
    } catch (error) {
      show({ status: "", notice: explain(error, messages, interfaces) });
      return false;
    } finally {
      show({ busy: false });
      await refresh();
    }
  }

  window.ethereum?.on?.("accountsChanged", () => open(false));
  window.ethereum?.on?.("chainChanged", () => open(false));
  return { start: () => open(false), connect: () => open(true), switchChain, act, refresh };
}

/** The plain page's wallet bar, notice and status: kept in step with the session's view. */
export function bindWallet(session) {
  const $ = (id) => document.getElementById(id);
  $("connect").addEventListener("click", () => session.connect());
  $("switch").addEventListener("click", () => session.switchChain());
  return (view) => {
    $("wallet-state").textContent = walletSummary(view);
    $("connect").hidden = view.connected;
    $("switch").hidden = !view.canSwitch;
    if (view.deployment) $("switch").textContent = `Switch to ${view.deployment.label}`;
    $("notice").textContent = view.notice;
    $("status").textContent = view.status;
    for (const button of document.querySelectorAll("main form button, [data-action]")) {
      button.disabled = view.busy || !view.connected;
    }
  };
}
