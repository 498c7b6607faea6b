"""An EIP-1193 wallet injected into a generated page: it forwards every request to the
project's devnet, whose unlocked test accounts sign, and lets the test switch account or
pretend to be on another chain, the way a real wallet's user would."""

import json

_SCRIPT = """
(() => {
  const config = %(config)s;
  const listeners = {};
  let authorized = null; // the devnet's accounts, once the page asked for them
  let index = 0;
  let chainId = config.chainId; // null: the devnet's own
  let id = 0;
  const emit = (event, value) => (listeners[event] || []).forEach((listener) => listener(value));
  async function forward(method, params) {
    const response = await fetch(config.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params || [] }),
    });
    const answer = await response.json();
    if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
    return answer.result;
  }
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      if (method === "eth_requestAccounts") {
        authorized = await forward("eth_accounts");
        return [authorized[index]];
      }
      if (method === "eth_accounts") return authorized ? [authorized[index]] : [];
      if (method === "eth_chainId" && chainId) return chainId;
      if (method === "wallet_switchEthereumChain") {
        chainId = null;
        emit("chainChanged", await forward("eth_chainId"));
        return null;
      }
      return forward(method, params);
    },
    on(event, listener) { (listeners[event] = listeners[event] || []).push(listener); },
    removeListener(event, listener) {
      listeners[event] = (listeners[event] || []).filter((l) => l !== listener);
    },
  };
  window.__wallet = {
    use(i) {
      index = i;
      emit("accountsChanged", authorized ? [authorized[i]] : []);
    },
  };
})();
"""


def wallet_script(rpc_url: str, *, chain_id: int | None = None) -> str:
    """Return the init script of a wallet on the devnet at `rpc_url` (or claiming `chain_id`)."""
    config = {"rpcUrl": rpc_url, "chainId": hex(chain_id) if chain_id else None}
    return _SCRIPT % {"config": json.dumps(config)}
