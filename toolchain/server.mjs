// The generation worker's toolchain: one long-lived process per worker that compiles Solidity
// with solc-js and runs contracts on an in-process EVM (@ethereumjs/vm).
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, in order.
// A request is {"op": ..., ...}; an answer is {"ok": true, ...} or {"ok": false, "error": "..."}.
// Loading the compiler takes a second or two, which is why the process lives on between jobs;
// the worker kills it (and starts another) to cancel a compile or a transaction mid-way.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Block } from "@ethereumjs/block";
import { Chain, Common, Hardfork } from "@ethereumjs/common";
import { LegacyTransaction } from "@ethereumjs/tx";
import { Account, Address, bytesToHex, hexToBytes } from "@ethereumjs/util";
import { VM } from "@ethereumjs/vm";
import { Interface, id as keccakText } from "ethers";

const require = createRequire(import.meta.url);
let solcModule = null; // loaded on the first compile: a worker whose compiles all hit the cache never pays for it
const solc = () => (solcModule ??= require("solc"));
const HERE = dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = join(HERE, "node_modules");
const HARDFORK = Hardfork.Cancun; // the EVM version the worker compiles for: keep them equal
const GAS_LIMIT = 30_000_000n;
const FUNDS = 10n ** 24n; // 1,000,000 ether per test account

// Well-known throwaway keys: account i has private key i + 1. Never use them outside tests.
const KEYS = Array.from({ length: 5 }, (_, i) => hexToBytes(`0x${(i + 1).toString(16).padStart(64, "0")}`));
const ADDRESSES = KEYS.map((key) => Address.fromPrivateKey(key));

const common = new Common({ chain: Chain.Mainnet, hardfork: HARDFORK });
let chain = null;

/** Answer an import of the compiled sources from the toolchain's node_modules only. */
function findImport(path) {
  if (!path.startsWith("@openzeppelin/contracts/") || path.includes("..")) {
    return { error: `${path} is not available: only @openzeppelin/contracts/ can be imported` };
  }
  try {
    return { contents: readFileSync(join(NODE_MODULES, path), "utf8") };
  } catch {
    return { error: `${path} was not found in @openzeppelin/contracts` };
  }
}

function compile({ input }) {
  const output = JSON.parse(solc().compile(JSON.stringify(input), { import: findImport }));
  return { output };
}

function version() {
  return { version: solc().version(), hardfork: HARDFORK, accounts: ADDRESSES.map(String) };
}

async function reset() {
  const vm = await VM.create({ common });
  for (const address of ADDRESSES) {
    await vm.stateManager.putAccount(address, Account.fromAccountData({ balance: FUNDS }));
  }
  chain = { vm, number: 1n, timestamp: 1_700_000_000n };
  return { accounts: ADDRESSES.map(String) };
}

function block() {
  return Block.fromBlockData({
    header: { number: chain.number, timestamp: chain.timestamp, gasLimit: GAS_LIMIT, baseFeePerGas: 7n,
              coinbase: Address.zero() },
  }, { common, skipConsensusFormatValidation: true });
}

/** Move the chain on: `blocks` blocks, 12 s apart unless `seconds` says how long they took. */
function mine({ blocks = 1, seconds = null }) {
  chain.number += BigInt(blocks);
  chain.timestamp += seconds === null ? 12n * BigInt(blocks) : BigInt(seconds);
  return { block: chain.number.toString() };
}

/** Run one signed transaction in its own block; return its result or why it reverted. */
async function transact({ from = 0, to = null, data = "0x", value = "0", abi = null }) {
  const key = KEYS[from];
  const nonce = (await chain.vm.stateManager.getAccount(ADDRESSES[from])).nonce;
  const tx = LegacyTransaction.fromTxData({
    nonce, gasPrice: 10n, gasLimit: GAS_LIMIT, value: BigInt(value), data: hexToBytes(data),
    to: to === null ? undefined : Address.fromString(to),
  }, { common }).sign(key);
  const result = await chain.vm.runTx({ tx, block: block(), skipBlockGasLimitValidation: true });
  mine({ blocks: 1 });
  const failure = result.execResult.exceptionError;
  if (failure) {
    return { ok: false, error: `reverted: ${revertReason(result.execResult.returnValue, abi) ?? failure.error}` };
  }
  return {
    address: result.createdAddress ? result.createdAddress.toString() : null,
    returned: result.createdAddress ? "0x" : bytesToHex(result.execResult.returnValue),
    gasUsed: result.totalGasSpent.toString(),
    logs: result.receipt.logs.length,
  };
}

function revertReason(returned, abi) {
  if (!returned || returned.length === 0) return null;
  try {
    const error = new Interface(abi ?? []).parseError(bytesToHex(returned));
    if (error) return `${error.name}(${error.args.map(String).join(", ")})`;
  } catch {
    // Not one of the contract's errors: fall through to the raw data.
  }
  return bytesToHex(returned);
}

async function deploy({ abi, bytecode, args = [], from = 0, value = "0" }) {
  const iface = new Interface(abi);
  const data = bytesToHex(new Uint8Array([...hexToBytes(`0x${bytecode}`),
                                          ...hexToBytes(iface.encodeDeploy(args))]));
  return transact({ from, data, value, abi });
}

async function send({ address, abi, method, args = [], from = 0, value = "0" }) {
  const iface = new Interface(abi);
  const answer = await transact({ from, to: address, data: iface.encodeFunctionData(method, args), value, abi });
  if (answer.ok === false) return answer;
  return { ...answer, result: plain(iface.decodeFunctionResult(method, answer.returned)) };
}

async function call({ address, abi, method, args = [], from = 0 }) {
  const iface = new Interface(abi);
  const result = await chain.vm.evm.runCall({
    to: Address.fromString(address), caller: ADDRESSES[from], origin: ADDRESSES[from],
    data: hexToBytes(iface.encodeFunctionData(method, args)), gasLimit: GAS_LIMIT, block: block(),
  });
  if (result.execResult.exceptionError) {
    return { ok: false, error: `reverted: ${revertReason(result.execResult.returnValue, abi) ?? result.execResult.exceptionError.error}` };
  }
  return { result: plain(iface.decodeFunctionResult(method, result.execResult.returnValue)) };
}

async function balance({ address }) {
  const account = await chain.vm.stateManager.getAccount(Address.fromString(address));
  return { balance: (account?.balance ?? 0n).toString() };
}

/** Return ethers' decoded values as JSON: big integers as decimal strings, tuples as lists. */
function plain(value) {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value) || (value && typeof value.toArray === "function")) {
    return Array.from(value, plain);
  }
  return value;
}

const keccak = ({ text }) => ({ hash: keccakText(text) });

const OPS = { compile, version, reset, mine, deploy, send, call, balance, keccak };

async function answer(line) {
  let request;
  try {
    request = JSON.parse(line);
    const op = OPS[request.op];
    if (!op) return { ok: false, error: `unknown op ${request.op}` };
    if (["deploy", "send", "call", "mine", "balance"].includes(request.op) && chain === null) {
      return { ok: false, error: "no chain: send a reset first" };
    }
    return { ok: true, ...(await op(request)) };
  } catch (error) {
    return { ok: false, error: `${error?.name ?? "Error"}: ${error?.message ?? error}` };
  }
}

const lines = createInterface({ input: process.stdin, terminal: false });
for await (const line of lines) {
  if (!line.trim()) continue;
  process.stdout.write(`${JSON.stringify(await answer(line))}\n`);
}
