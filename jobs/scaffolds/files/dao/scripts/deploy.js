// Deploys {{ contract_name }}Token, then {{ contract_name }} governed by it, and records both
// addresses for the web page.
const fs = require("fs");
const hre = require("hardhat");

async function main() {
  const token = await hre.ethers.deployContract("{{ contract_name }}Token");
  await token.waitForDeployment();
  const tokenAddress = await token.getAddress();

  const governor = await hre.ethers.deployContract("{{ contract_name }}", [tokenAddress]);
  await governor.waitForDeployment();
  const address = await governor.getAddress();
  const { blockNumber } = await governor.deploymentTransaction().wait();

  // Votes count only once delegated: the deployer, who holds the supply, delegates to itself.
  const [deployer] = await hre.ethers.getSigners();
  await (await token.delegate(deployer.address)).wait();

  fs.writeFileSync(
    "web/deployment.json",
    JSON.stringify({ address, token: tokenAddress, block: blockNumber, network: hre.network.name }, null, 2),
  );
  console.log(`{{ contract_name }}Token deployed to ${tokenAddress} on ${hre.network.name}`);
  console.log(`{{ contract_name }} deployed to ${address} on ${hre.network.name}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
