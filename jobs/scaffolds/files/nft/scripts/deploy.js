// Deploys {{ contract_name }} and records it in web/deployment.json for the page.
const hre = require("hardhat");
const { checkNetwork, describe, saveDeployment, run } = require("./network");

run(async () => {
  await checkNetwork(hre);
  const collection = await hre.ethers.deployContract("{{ contract_name }}");
  const { blockNumber } = await collection.deploymentTransaction().wait();
  await saveDeployment(hre, {
    block: blockNumber,
    contracts: { collection: await describe(hre, "{{ contract_name }}", collection) },
  });
  console.log(`{{ contract_name }} deployed to ${await collection.getAddress()} on ${hre.network.name}; wrote web/deployment.json`);
});
