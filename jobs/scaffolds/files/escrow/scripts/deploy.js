// Deploys {{ contract_name }} and records it in web/deployment.json for the page.
const hre = require("hardhat");
const { checkNetwork, describe, saveDeployment, run } = require("./network");

run(async () => {
  await checkNetwork(hre);
  const escrow = await hre.ethers.deployContract("{{ contract_name }}");
  const { blockNumber } = await escrow.deploymentTransaction().wait();
  await saveDeployment(hre, {
    block: blockNumber,
    contracts: { escrow: await describe(hre, "{{ contract_name }}", escrow) },
  });
  console.log(`{{ contract_name }} deployed to ${await escrow.getAddress()} on ${hre.network.name}; wrote web/deployment.json`);
});
