// Tests for {{ contract_name }} and {{ contract_name }}Token; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { mine } = require("@nomicfoundation/hardhat-network-helpers");

const STATE = { Pending: 0n, Defeated: 3n, Succeeded: 4n, Executed: 7n };

describe("{{ contract_name }}", function () {
  async function deploy() {
    const [holder, other] = await ethers.getSigners();
    const token = await ethers.deployContract("{{ contract_name }}Token");
    const governor = await ethers.deployContract("{{ contract_name }}", [await token.getAddress()]);
    await token.delegate(holder.address);
    return { token, governor, holder, other };
  }

  async function propose(governor, description) {
    // A "signal" proposal: executing it only calls the governor with no data.
    const proposal = [[await governor.getAddress()], [0n], ["0x"], description];
    await governor.propose(...proposal);
    const id = await governor.hashProposal(
      proposal[0], proposal[1], proposal[2], ethers.id(description),
    );
    return { id, proposal };
  }

  it("gives delegated holders their votes", async function () {
    const { token, holder } = await deploy();
    expect(await token.getVotes(holder.address)).to.equal(await token.totalSupply());
  });

  it("passes and executes a proposal that reaches quorum", async function () {
    const { governor, holder } = await deploy();
    const { id, proposal } = await propose(governor, "Adopt the charter");
    expect(await governor.state(id)).to.equal(STATE.Pending);
    await mine(await governor.votingDelay()); // the vote lands in the voting period's first block
    await governor.castVote(id, 1); // 0 = Against, 1 = For, 2 = Abstain
    expect(await governor.hasVoted(id, holder.address)).to.equal(true);
    await mine(await governor.votingPeriod());
    expect(await governor.state(id)).to.equal(STATE.Succeeded);
    await governor.execute(proposal[0], proposal[1], proposal[2], ethers.id(proposal[3]));
    expect(await governor.state(id)).to.equal(STATE.Executed);
  });

  it("defeats a proposal nobody votes for", async function () {
    const { governor, other } = await deploy();
    const { id } = await propose(governor.connect(other), "Nobody cares");
    await mine((await governor.votingDelay()) + (await governor.votingPeriod()) + 1n);
    expect(await governor.state(id)).to.equal(STATE.Defeated);
  });
});
