// `npm run mine` (devnet only): moves the chain on to the next step of the latest proposal, so
// that nobody waits a week: voting opens, voting closes{% if timelock_delay_s %}, the timelock delay passes{% endif %}.
// `BLOCKS=n npm run mine` mines n blocks instead.
const fs = require("node:fs");
const hre = require("hardhat");
const { {% if timelock_delay_s %}mine, time{% else %}mine{% endif %} } = require("@nomicfoundation/hardhat-network-helpers");
const { SetupError, checkNetwork, run } = require("./network");

const STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];

run(async () => {
  await checkNetwork(hre);
  const { ethers } = hre;
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (process.env.BLOCKS) {
    await mine(BigInt(process.env.BLOCKS));
    console.log(`Mined ${process.env.BLOCKS} blocks: now at block ${await ethers.provider.getBlockNumber()}.`);
    return;
  }
  if (!fs.existsSync("web/deployment.json")) throw new SetupError("Nothing deployed yet: run `npm run deploy` first.");
  const deployment = JSON.parse(fs.readFileSync("web/deployment.json", "utf8"));
  const governor = await ethers.getContractAt("{{ contract_name }}", deployment.contracts.governor.address);
  const created = await governor.queryFilter(governor.filters.ProposalCreated(), deployment.block);
  if (!created.length) throw new SetupError("No proposal yet: make one on the page (Propose), then run this again.");
  const { proposalId, description } = created.at(-1).args;
  const state = STATES[Number(await governor.state(proposalId))];
  const stateNow = async () => STATES[Number(await governor.state(proposalId))];
  if (state === "Pending") {
    const start = await governor.proposalSnapshot(proposalId);
    await mine(start - now + 1n);
    console.log(`"${description}": voting is open (${await stateNow()}) until block ${await governor.proposalDeadline(proposalId)}. Vote on the page, then run \`npm run mine\` again to close it.`);
  } else if (state === "Active") {
    const end = await governor.proposalDeadline(proposalId);
    await mine(end - now + 1n);
    console.log(`"${description}": voting closed at block ${end}; the proposal is ${await stateNow()}.`);{% if timelock_delay_s %}
  } else if (state === "Queued") {
    await time.increaseTo(await governor.proposalEta(proposalId));
    console.log(`"${description}": the timelock delay is over; it can be executed from the page.`);{% endif %}
  } else {
    console.log(`"${description}" is ${state}: there is nothing to wait for.`);
  }
});
