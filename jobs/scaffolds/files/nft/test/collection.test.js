// Tests for {{ contract_name }}; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { setBalance } = require("@nomicfoundation/hardhat-network-helpers");

describe("{{ contract_name }}", function () {
  async function deploy() {
    const [owner, collector] = await ethers.getSigners();
    const collection = await ethers.deployContract("{{ contract_name }}");
    // Enough ether for a few mints, however high the price.
    await setBalance(collector.address, (await collection.MINT_PRICE()) * 3n + ethers.parseEther("10"));
    return { collection, owner, collector };
  }

  it("mints the next token for the mint price", async function () {
    const { collection, collector } = await deploy();
    const price = await collection.MINT_PRICE();
    await expect(collection.connect(collector).mint({ value: price }))
      .to.emit(collection, "Transfer")
      .withArgs(ethers.ZeroAddress, collector.address, 1n);
    expect(await collection.ownerOf(1n)).to.equal(collector.address);
    expect(await collection.totalSupply()).to.equal(1n);
    expect(await collection.tokenURI(1n)).to.equal(`${ {{ base_uri|js }} }1`);
  });

  it("rejects a wrong payment", async function () {
    const { collection, collector } = await deploy();
    const price = await collection.MINT_PRICE();
    await expect(collection.connect(collector).mint({ value: price + 1n }))
      .to.be.revertedWithCustomError(collection, "WrongPayment");
  });

  it("lets only the owner withdraw", async function () {
    const { collection, collector } = await deploy();
    await expect(collection.connect(collector).withdraw())
      .to.be.revertedWithCustomError(collection, "OwnableUnauthorizedAccount");
    await collection.withdraw();
  });
{% if royalties %}
  it("reports 5% royalties to the deployer", async function () {
    const { collection, owner } = await deploy();
    const [receiver, amount] = await collection.royaltyInfo(1n, 10000n);
    expect(receiver).to.equal(owner.address);
    expect(amount).to.equal(500n);
  });
{% endif %}});
