// Front end for {{ contract_name }} ({{ frontend_label }}); reads web/deployment.json.
import { ethers } from "https://cdn.jsdelivr.net/npm/ethers@6/dist/ethers.min.js";

const ABI = [
  "function balanceOf(address) view returns (uint256)",
  "function transfer(address to, uint256 amount) returns (bool)",
];
const DECIMALS = {{ decimals }};
const SYMBOL = {{ symbol|js }};
const status = document.getElementById("status");

async function contract() {
  const { address } = await (await fetch("deployment.json")).json();
  const provider = new ethers.BrowserProvider(window.ethereum);
  return new ethers.Contract(address, ABI, await provider.getSigner());
}

document.getElementById("connect").addEventListener("click", async () => {
  const token = await contract();
  const me = await token.runner.getAddress();
  const balance = await token.balanceOf(me);
  document.getElementById("account").textContent =
    `${me}: ${ethers.formatUnits(balance, DECIMALS)} ${SYMBOL}`;
});

document.getElementById("send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const token = await contract();
  const tx = await token.transfer(form.get("to"), ethers.parseUnits(form.get("amount"), DECIMALS));
  status.textContent = `Sent: ${tx.hash}`;
});
