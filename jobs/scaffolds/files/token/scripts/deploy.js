// Deploys {{ contract_name }} and records it in web/deployment.json for the page.
const hre = require("hardhat");
const { checkNetwork, describe, saveDeployment, run } = require("./network");

run(async () => {
  await checkNetwork(hre);
  const token = await hre.ethers.deployContract("{{ contract_name }}");
  const { blockNumber } = await token.deploymentTransaction().wait();
  await saveDeployment(hre, {
    block: blockNumber,
    contracts: { token: await describe(hre, "{{ contract_name }}", token) },
  });
  console.log(`{{ contract_name }} deployed to ${await token.getAddress()} on ${hre.network.name}; wrote web/deployment.json`);
});
