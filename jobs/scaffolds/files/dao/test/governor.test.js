// Tests for {{ contract_name }}, {{ contract_name }}Token{% if timelock_delay_s %} and {{ contract_name }}Timelock{% endif %}; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { mine{% if timelock_delay_s %}, time{% endif %} } = require("@nomicfoundation/hardhat-network-helpers");

const STATE = { Pending: 0n, Active: 1n, Defeated: 3n, Succeeded: 4n, Queued: 5n, Executed: 7n };
const THRESHOLD = {{ proposal_threshold }}n * 10n ** 18n;
const FOR = 1; // castVote's support: 0 = Against, 1 = For, 2 = Abstain

describe("{{ contract_name }}", function () {
  async function deploy() {
    const [holder, member, outsider] = await ethers.getSigners();
    const token = await ethers.deployContract("{{ contract_name }}Token");{% if timelock_delay_s %}
    const timelock = await ethers.deployContract("{{ contract_name }}Timelock");
    const governor = await ethers.deployContract("{{ contract_name }}", [await token.getAddress(), await timelock.getAddress()]);
    for (const role of [await timelock.PROPOSER_ROLE(), await timelock.CANCELLER_ROLE()]) {
      await timelock.grantRole(role, await governor.getAddress());
    }
    await timelock.renounceRole(await timelock.DEFAULT_ADMIN_ROLE(), holder.address);
    const target = await timelock.getAddress(); // signal proposals call the executor with no data{% else %}
    const governor = await ethers.deployContract("{{ contract_name }}", [await token.getAddress()]);
    const target = await governor.getAddress(); // signal proposals call the executor with no data{% endif %}
    await token.delegate(holder.address);
    return { token, governor, holder, member, outsider, target{% if timelock_delay_s %}, timelock{% endif %} };
  }

  // A "signal" proposal: the decision is its text; executing it calls the executor with no data.
  async function propose(dao, signer, description) {
    const args = [[dao.target], [0n], ["0x"], ethers.id(description)];
    await dao.governor.connect(signer).propose(args[0], args[1], args[2], description);
    return { id: await dao.governor.hashProposal(...args), args };
  }

  // Mine until the latest block is `block` (the next transaction lands in the one after).
  async function advanceTo(block) {
    const gap = block - BigInt(await ethers.provider.getBlockNumber());
    if (gap > 0n) await mine(gap);
  }

  // Calls see the latest block: voting is open once it is past the snapshot, closed once past the deadline.
  const openVoting = async (governor, id) => advanceTo((await governor.proposalSnapshot(id)) + 1n);
  const closeVoting = async (governor, id) => advanceTo((await governor.proposalDeadline(id)) + 1n);

  it("gives delegated holders their votes", async function () {
    const { token, holder } = await deploy();
    expect(await token.getVotes(holder.address)).to.equal(await token.totalSupply());
  });

  it("needs {{ proposal_threshold }} delegated votes to propose", async function () {
    const dao = await deploy();
    await expect(propose(dao, dao.outsider, "Too few votes"))
      .to.be.revertedWithCustomError(dao.governor, "GovernorInsufficientProposerVotes")
      .withArgs(dao.outsider.address, 0n, THRESHOLD);
    await dao.token.transfer(dao.member.address, THRESHOLD);
    await dao.token.connect(dao.member).delegate(dao.member.address);
    const { id } = await propose(dao, dao.member, "Just enough votes");
    expect(await dao.governor.state(id)).to.equal(STATE.Pending);
  });

  it("passes and executes a proposal that reaches quorum", async function () {
    const dao = await deploy();
    const { governor, holder } = dao;
    const { id, args } = await propose(dao, holder, "Adopt the charter");
    expect(await governor.state(id)).to.equal(STATE.Pending);
    await openVoting(governor, id);
    expect(await governor.state(id)).to.equal(STATE.Active);
    await governor.castVote(id, FOR);
    expect(await governor.hasVoted(id, holder.address)).to.equal(true);
    // A second vote, tried in the same block (however short the voting period), is refused.
    await expect(governor.castVote.staticCall(id, FOR))
      .to.be.revertedWithCustomError(governor, "GovernorAlreadyCastVote");
    await closeVoting(governor, id);
    expect(await governor.state(id)).to.equal(STATE.Succeeded);{% if timelock_delay_s %}
    await governor.queue(...args);
    expect(await governor.state(id)).to.equal(STATE.Queued);
    await expect(governor.execute(...args))
      .to.be.revertedWithCustomError(dao.timelock, "TimelockUnexpectedOperationState");
    await time.increaseTo(await governor.proposalEta(id));{% endif %}
    await governor.execute(...args);
    expect(await governor.state(id)).to.equal(STATE.Executed);
  });

  it("defeats a proposal whose For votes miss the quorum", async function () {
    const dao = await deploy();
    const { governor, token, holder, member } = dao;
    const quorum = ((await token.totalSupply()) * {{ quorum_percent }}n) / 100n;
    await token.connect(member).delegate(member.address); // its votes follow its tokens from now on
    const { id } = await propose(dao, holder, "Too few voters"); // the snapshot is the next block
    await token.transfer(member.address, quorum - 1n); // lands in the snapshot block
    await openVoting(governor, id);
    expect(await governor.quorum(await governor.proposalSnapshot(id))).to.equal(quorum);
    await governor.connect(member).castVote(id, FOR); // the only vote: For, one short of quorum
    await closeVoting(governor, id);
    expect((await governor.proposalVotes(id)).forVotes).to.equal(quorum - 1n);
    expect(await governor.state(id)).to.equal(STATE.Defeated);
  });

  it("defeats a proposal nobody votes for", async function () {
    const dao = await deploy();
    const { id } = await propose(dao, dao.holder, "Nobody cares");
    await closeVoting(dao.governor, id);
    expect(await dao.governor.state(id)).to.equal(STATE.Defeated);
  });
});
