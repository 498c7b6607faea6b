// What every deploy script needs: a network it can reach, and web/deployment.json for the page.
const fs = require("node:fs");
const { networks } = require("../config/networks.json");

/** A problem the person can fix; reported as its message alone, without a stack trace. */
class SetupError extends Error {}

/** Stop with what to do when the network cannot be used: no devnet running, or no RPC URL or key. */
async function checkNetwork(hre) {
  const info = networks[hre.network.name];
  if (hre.network.name === "devnet") {
    try {
      await hre.ethers.provider.getBlockNumber();
    } catch {
      throw new SetupError(
        `No devnet answers at ${hre.network.config.url}: start one with \`npm run node\` in another terminal, then run this again.`,
      );
    }
    return;
  }
  const missing = [info.urlEnv, "DEPLOYER_KEY"].filter((name) => !process.env[name]);
  if (missing.length) {
    throw new SetupError(
      `To deploy to ${info.label} (chain ${info.chainId}), set ${missing.join(" and ")} first:\n` +
        `  export ${info.urlEnv}=https://…   # your RPC provider's HTTPS endpoint for chain ${info.chainId}\n` +
        "  export DEPLOYER_KEY=0x…        # the private key of an account that holds ETH there\n" +
        `then run \`npm run deploy:${hre.network.name}\` again. To try the project first, use the devnet: ` +
        "`npm run node`, then `npm run deploy`.",
    );
  }
}

/** Return what the page needs of a deployed contract: its name, address and ABI. */
async function describe(hre, name, contract) {
  const { abi } = await hre.artifacts.readArtifact(name);
  return { name, address: await contract.getAddress(), abi };
}

/** Write web/deployment.json: where the contracts are, on which chain, from which block. */
async function saveDeployment(hre, fields) {
  const { chainId } = await hre.ethers.provider.getNetwork();
  const deployment = {
    network: hre.network.name,
    label: networks[hre.network.name].label,
    chainId: Number(chainId),
    // The page mines blocks and moves time through the devnet's RPC; never a public one's.
    rpcUrl: hre.network.name === "devnet" ? hre.network.config.url : null,
    ...fields,
  };
  fs.writeFileSync("web/deployment.json", `${JSON.stringify(deployment, null, 2)}\n`);
  return deployment;
}

/** Run a script's main function; print a SetupError as its message alone and exit with 1. */
function run(main) {
  main().catch((error) => {
    console.error(error instanceof SetupError ? error.message : error);
    process.exitCode = 1;
  });
}

module.exports = { SetupError, checkNetwork, describe, saveDeployment, run };
