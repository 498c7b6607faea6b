// Deploys {{ contract_name }}Token, {% if timelock_delay_s %}{{ contract_name }}Timelock, {% endif %}then {{ contract_name }} governed by the token,
// and records them in web/deployment.json for the page.
const hre = require("hardhat");
const { checkNetwork, describe, saveDeployment, run } = require("./network");

run(async () => {
  await checkNetwork(hre);
  const { ethers } = hre;
  const [deployer] = await ethers.getSigners();
  const token = await ethers.deployContract("{{ contract_name }}Token");
  const { blockNumber } = await token.deploymentTransaction().wait();{% if timelock_delay_s %}
  const timelock = await ethers.deployContract("{{ contract_name }}Timelock");
  await timelock.waitForDeployment();
  const governor = await ethers.deployContract("{{ contract_name }}", [await token.getAddress(), await timelock.getAddress()]);
  await governor.waitForDeployment();
  // The governor alone queues and cancels; anyone executes once the delay is over. The deployer
  // then renounces its admin role: only governance can change the timelock from here on.
  for (const role of [await timelock.PROPOSER_ROLE(), await timelock.CANCELLER_ROLE()]) {
    await (await timelock.grantRole(role, await governor.getAddress())).wait();
  }
  await (await timelock.renounceRole(await timelock.DEFAULT_ADMIN_ROLE(), deployer.address)).wait();{% else %}
  const governor = await ethers.deployContract("{{ contract_name }}", [await token.getAddress()]);
  await governor.waitForDeployment();{% endif %}

  // Votes count only once delegated: the deployer, who holds the supply, delegates to itself.
  await (await token.delegate(deployer.address)).wait();

  await saveDeployment(hre, {
    block: blockNumber,
    // What a "signal" proposal calls (with no data): {% if timelock_delay_s %}the timelock, which executes it.{% else %}the governor, which executes it.{% endif %}
    signalTarget: await {% if timelock_delay_s %}timelock{% else %}governor{% endif %}.getAddress(),
    contracts: {
      token: await describe(hre, "{{ contract_name }}Token", token),
      governor: await describe(hre, "{{ contract_name }}", governor),{% if timelock_delay_s %}
      timelock: await describe(hre, "{{ contract_name }}Timelock", timelock),{% endif %}
    },
  });
  console.log(`{{ contract_name }}Token deployed to ${await token.getAddress()}`);{% if timelock_delay_s %}
  console.log(`{{ contract_name }}Timelock deployed to ${await timelock.getAddress()} ({{ timelock_delay_s }} s delay)`);{% endif %}
  console.log(`{{ contract_name }} deployed to ${await governor.getAddress()} on ${hre.network.name}; wrote web/deployment.json`);
});
