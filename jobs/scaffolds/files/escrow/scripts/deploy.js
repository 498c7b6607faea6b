// Deploys {{ contract_name }} and records its address for the web page.
const fs = require("fs");
const hre = require("hardhat");

async function main() {
  const escrow = await hre.ethers.deployContract("{{ contract_name }}");
  await escrow.waitForDeployment();
  const address = await escrow.getAddress();
  fs.writeFileSync("web/deployment.json", JSON.stringify({ address, network: hre.network.name }, null, 2));
  console.log(`{{ contract_name }} deployed to ${address} on ${hre.network.name}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
