// Tests for {{ contract_name }}; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { time } = require("@nomicfoundation/hardhat-network-helpers");

const PRICE = ethers.parseEther("1");
const State = { Listed: 0n, Funded: 1n, Shipped: 2n, Disputed: 3n, Completed: 4n, Refunded: 5n, Cancelled: 6n };

describe("{{ contract_name }}", function () {
  async function deploy() {
    const [operator, seller, buyer, arbiter, other] = await ethers.getSigners();
    const escrow = await ethers.deployContract("{{ contract_name }}");
    const fee = (PRICE * (await escrow.FEE_BASIS_POINTS())) / 10000n;
    return { escrow, operator, seller, buyer, arbiter, other, fee };
  }

  async function deployAndBuy() {
    const parties = await deploy();
    const { escrow, seller, buyer, arbiter } = parties;
    await escrow.connect(seller).list("A bicycle", PRICE, arbiter.address);
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    return parties;
  }

  it("holds the payment, credits the seller and the fee on release, and pays on withdrawal", async function () {
    const { escrow, operator, seller, buyer, fee } = await deployAndBuy();
    expect((await escrow.listings(0n)).state).to.equal(State.Funded);
    expect(await ethers.provider.getBalance(await escrow.getAddress())).to.equal(PRICE);
    await escrow.connect(seller).markShipped(0n);
    await expect(escrow.connect(buyer).release(0n)).to.changeEtherBalance(seller, 0n); // credited, not pushed
    expect((await escrow.listings(0n)).state).to.equal(State.Completed);
    expect(await escrow.credits(seller.address)).to.equal(PRICE - fee);
    expect(await escrow.credits(operator.address)).to.equal(fee);
    const withdrawal = escrow.connect(seller).withdraw();
    await expect(withdrawal).to.emit(escrow, "Withdrawn").withArgs(seller.address, PRICE - fee);
    await expect(withdrawal).to.changeEtherBalances([escrow, seller], [-(PRICE - fee), PRICE - fee]);
    expect(await escrow.credits(seller.address)).to.equal(0n);
    await expect(escrow.connect(seller).withdraw()).to.be.revertedWithCustomError(escrow, "NothingToWithdraw");
    if (fee > 0n) await expect(escrow.withdraw()).to.changeEtherBalance(operator, fee);
  });

  it("lets the seller refund the buyer in full", async function () {
    const { escrow, seller, buyer } = await deployAndBuy();
    await escrow.connect(seller).refund(0n);
    expect((await escrow.listings(0n)).state).to.equal(State.Refunded);
    await expect(escrow.connect(buyer).withdraw()).to.changeEtherBalance(buyer, PRICE);
  });

  it("refunds the buyer once the seller has not shipped by the deadline, not before", async function () {
    const { escrow, buyer, other } = await deployAndBuy();
    const { deadline } = await escrow.listings(0n);
    await expect(escrow.connect(buyer).refundAfterDeadline(0n))
      .to.be.revertedWithCustomError(escrow, "TooEarly").withArgs(deadline);
    await time.increaseTo(deadline + 1n);
    await expect(escrow.connect(other).refundAfterDeadline(0n)).to.be.revertedWithCustomError(escrow, "NotAllowed");
    await escrow.connect(buyer).refundAfterDeadline(0n);
    expect(await escrow.credits(buyer.address)).to.equal(PRICE);
  });

  it("pays the seller once the buyer has neither released nor disputed by the deadline", async function () {
    const { escrow, seller, fee } = await deployAndBuy();
    await escrow.connect(seller).markShipped(0n);
    const { deadline } = await escrow.listings(0n);
    expect(deadline).to.equal(BigInt(await time.latest()) + (await escrow.RESPONSE_TIME()));
    await expect(escrow.connect(seller).claimAfterDeadline(0n)).to.be.revertedWithCustomError(escrow, "TooEarly");
    await time.increaseTo(deadline + 1n);
    await escrow.connect(seller).claimAfterDeadline(0n);
    expect(await escrow.credits(seller.address)).to.equal(PRICE - fee);
  });

  it("lets only the seller mark shipped, and only a paid listing", async function () {
    const { escrow, seller, buyer, arbiter } = await deploy();
    await escrow.connect(seller).list("A lamp", PRICE, arbiter.address);
    await expect(escrow.connect(seller).markShipped(0n))
      .to.be.revertedWithCustomError(escrow, "WrongState").withArgs(State.Listed);
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    await expect(escrow.connect(buyer).markShipped(0n)).to.be.revertedWithCustomError(escrow, "NotAllowed");
    await escrow.connect(seller).markShipped(0n);
    expect((await escrow.listings(0n)).state).to.equal(State.Shipped);
  });

  it("lets only the seller cancel, and only before a sale", async function () {
    const { escrow, seller, buyer, arbiter } = await deploy();
    await escrow.connect(seller).list("A chair", PRICE, arbiter.address);
    await expect(escrow.connect(buyer).cancel(0n)).to.be.revertedWithCustomError(escrow, "NotAllowed");
    await escrow.connect(seller).cancel(0n);
    expect((await escrow.listings(0n)).state).to.equal(State.Cancelled);
    await expect(escrow.connect(buyer).buy(0n, { value: PRICE }))
      .to.be.revertedWithCustomError(escrow, "WrongState").withArgs(State.Cancelled);
  });

  it("lets only the arbiter resolve a dispute", async function () {
    const { escrow, seller, buyer, arbiter, fee } = await deployAndBuy();
    await escrow.connect(buyer).dispute(0n);
    await expect(escrow.connect(buyer).resolve(0n, false)).to.be.revertedWithCustomError(escrow, "NotAllowed");
    await escrow.connect(arbiter).resolve(0n, true);
    expect(await escrow.credits(seller.address)).to.equal(PRICE - fee);
  });

  it("rejects a wrong payment and a second buyer", async function () {
    const { escrow, seller, buyer, arbiter, other } = await deploy();
    await escrow.connect(seller).list("A lamp", PRICE, arbiter.address);
    await expect(escrow.connect(buyer).buy(0n, { value: PRICE - 1n }))
      .to.be.revertedWithCustomError(escrow, "WrongPayment").withArgs(PRICE, PRICE - 1n);
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    await expect(escrow.connect(other).buy(0n, { value: PRICE }))
      .to.be.revertedWithCustomError(escrow, "WrongState");
  });
{% if arbiter_required %}
  it("requires an arbiter on every listing", async function () {
    const { escrow, seller } = await deploy();
    await expect(escrow.connect(seller).list("A chair", PRICE, ethers.ZeroAddress))
      .to.be.revertedWithCustomError(escrow, "ArbiterNeeded");
  });
{% else %}
  it("cannot dispute a sale without an arbiter", async function () {
    const { escrow, seller, buyer } = await deploy();
    await escrow.connect(seller).list("A chair", PRICE, ethers.ZeroAddress);
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    await expect(escrow.connect(buyer).dispute(0n)).to.be.revertedWithCustomError(escrow, "ArbiterNeeded");
  });
{% endif %}});
