// Tests for {{ contract_name }}; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");

const PRICE = ethers.parseEther("1");
const State = { Listed: 0n, Funded: 1n, Shipped: 2n, Disputed: 3n, Completed: 4n, Refunded: 5n };

describe("{{ contract_name }}", function () {
  async function deployAndBuy() {
    const [operator, seller, buyer, arbiter] = await ethers.getSigners();
    const escrow = await ethers.deployContract("{{ contract_name }}");
    await escrow.connect(seller).list("A bicycle", PRICE, arbiter.address);
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    const fee = PRICE * (await escrow.FEE_BASIS_POINTS()) / 10000n;
    return { escrow, operator, seller, buyer, arbiter, fee };
  }

  it("holds the payment until the buyer releases it", async function () {
    const { escrow, operator, seller, buyer, fee } = await deployAndBuy();
    expect((await escrow.listings(0n)).state).to.equal(State.Funded);
    await escrow.connect(seller).markShipped(0n);
    await expect(escrow.connect(buyer).release(0n))
      .to.changeEtherBalances([escrow, seller, operator], [-PRICE, PRICE - fee, fee]);
    expect((await escrow.listings(0n)).state).to.equal(State.Completed);
  });

  it("lets the seller refund the buyer in full", async function () {
    const { escrow, seller, buyer } = await deployAndBuy();
    await expect(escrow.connect(seller).refund(0n)).to.changeEtherBalance(buyer, PRICE);
    expect((await escrow.listings(0n)).state).to.equal(State.Refunded);
  });

  it("lets only the arbiter resolve a dispute", async function () {
    const { escrow, seller, buyer, arbiter, fee } = await deployAndBuy();
    await escrow.connect(buyer).dispute(0n);
    await expect(escrow.connect(buyer).resolve(0n, false))
      .to.be.revertedWithCustomError(escrow, "NotAllowed");
    await expect(escrow.connect(arbiter).resolve(0n, true))
      .to.changeEtherBalance(seller, PRICE - fee);
  });

  it("rejects a wrong payment and a second buyer", async function () {
    const [, seller, buyer, arbiter, other] = await ethers.getSigners();
    const escrow = await ethers.deployContract("{{ contract_name }}");
    await escrow.connect(seller).list("A lamp", PRICE, arbiter.address);
    await expect(escrow.connect(buyer).buy(0n, { value: PRICE - 1n }))
      .to.be.revertedWithCustomError(escrow, "WrongPayment");
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    await expect(escrow.connect(other).buy(0n, { value: PRICE }))
      .to.be.revertedWithCustomError(escrow, "WrongState");
  });
{% if arbiter_required %}
  it("requires an arbiter on every listing", async function () {
    const [, seller] = await ethers.getSigners();
    const escrow = await ethers.deployContract("{{ contract_name }}");
    await expect(escrow.connect(seller).list("A chair", PRICE, ethers.ZeroAddress))
      .to.be.revertedWithCustomError(escrow, "ArbiterNeeded");
  });
{% else %}
  it("cannot dispute a sale without an arbiter", async function () {
    const [, seller, buyer] = await ethers.getSigners();
    const escrow = await ethers.deployContract("{{ contract_name }}");
    await escrow.connect(seller).list("A chair", PRICE, ethers.ZeroAddress);
    await escrow.connect(buyer).buy(0n, { value: PRICE });
    await expect(escrow.connect(buyer).dispute(0n))
      .to.be.revertedWithCustomError(escrow, "ArbiterNeeded");
  });
{% endif %}});
