// Tests for {{ contract_name }}; run with `npm test`.
const { expect } = require("chai");
const hre = require("hardhat");
const { setBalance, setStorageAt } = require("@nomicfoundation/hardhat-network-helpers");

const { ethers } = hre;
const NAME = "{{ contract_name }}";

describe(NAME, function () {
  async function deploy() {
    const [owner, collector, other] = await ethers.getSigners();
    const collection = await ethers.deployContract(NAME);
    const price = await collection.MINT_PRICE();
    for (const account of [collector, other]) {
      // Enough ether for a few mints, however high the price.
      await setBalance(account.address, price * 5n + ethers.parseEther("10"));
    }
    return { collection, owner, collector, other, price };
  }

  // Where a state variable lives, from the compiler's storage layout (hardhat.config.js asks for it).
  async function slotOf(label) {
    const info = await hre.artifacts.getBuildInfo(`contracts/Collection.sol:${NAME}`);
    const { storage } = info.output.contracts["contracts/Collection.sol"][NAME].storageLayout;
    return BigInt(storage.find((entry) => entry.label === label).slot);
  }

  it("mints the next token for the mint price", async function () {
    const { collection, collector, price } = await deploy();
    await expect(collection.connect(collector).mint({ value: price }))
      .to.emit(collection, "Transfer")
      .withArgs(ethers.ZeroAddress, collector.address, 1n);
    expect(await collection.ownerOf(1n)).to.equal(collector.address);
    expect(await collection.totalSupply()).to.equal(1n);
    expect(await collection.tokenURI(1n)).to.equal(`${ {{ base_uri|js }} }1`);
    expect(await ethers.provider.getBalance(await collection.getAddress())).to.equal(price);
  });

  it("rejects a wrong payment, naming the price", async function () {
    const { collection, collector, price } = await deploy();
    await expect(collection.connect(collector).mint({ value: price + 1n }))
      .to.be.revertedWithCustomError(collection, "WrongPayment").withArgs(price, price + 1n);
  });

  it("is sold out once MAX_SUPPLY tokens exist", async function () {
    const { collection, collector, price } = await deploy();
    const max = await collection.MAX_SUPPLY();
    // Minting them all would take long: say MAX_SUPPLY - 1 are minted, mint the last one.
    await setStorageAt(await collection.getAddress(), await slotOf("totalSupply"), max - 1n);
    await collection.connect(collector).mint({ value: price });
    expect(await collection.ownerOf(max)).to.equal(collector.address);
    await expect(collection.connect(collector).mint({ value: price }))
      .to.be.revertedWithCustomError(collection, "SoldOut");
  });
{% if max_per_wallet %}
  it("stops a wallet at {{ max_per_wallet }} mints, and only that wallet", async function () {
    const { collection, collector, other, price } = await deploy();
    const cap = await collection.MAX_PER_WALLET();
    // Say the collector has minted cap - 1 already (mintedBy is a mapping: keccak(key . slot)).
    const key = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(
      ["address", "uint256"], [collector.address, await slotOf("mintedBy")]));
    await setStorageAt(await collection.getAddress(), key, cap - 1n);
    await collection.connect(collector).mint({ value: price });
    expect(await collection.mintedBy(collector.address)).to.equal(cap);
    await expect(collection.connect(collector).mint({ value: price }))
      .to.be.revertedWithCustomError(collection, "WalletCapReached").withArgs(cap);
    await collection.connect(other).mint({ value: price });
  });
{% endif %}
  it("lets only the owner withdraw, and pays the owner everything collected", async function () {
    const { collection, owner, collector, other, price } = await deploy();
    await collection.connect(collector).mint({ value: price });
    await collection.connect(other).mint({ value: price });
    await expect(collection.connect(collector).withdraw())
      .to.be.revertedWithCustomError(collection, "OwnableUnauthorizedAccount");
    if (price === 0n) {
      await expect(collection.withdraw()).to.be.revertedWithCustomError(collection, "NothingToWithdraw");
      return;
    }
    const withdrawal = collection.withdraw();
    await expect(withdrawal).to.emit(collection, "Withdrawn").withArgs(owner.address, price * 2n);
    await expect(withdrawal).to.changeEtherBalances([collection, owner], [-price * 2n, price * 2n]);
  });

  it("announces a new base URI with the ERC-4906 event, owner only", async function () {
    const { collection, collector, price } = await deploy();
    await collection.connect(collector).mint({ value: price });
    await expect(collection.connect(collector).setBaseURI("ipfs://elsewhere/"))
      .to.be.revertedWithCustomError(collection, "OwnableUnauthorizedAccount");
    await expect(collection.setBaseURI("ipfs://elsewhere/"))
      .to.emit(collection, "BatchMetadataUpdate").withArgs(1n, ethers.MaxUint256);
    expect(await collection.tokenURI(1n)).to.equal("ipfs://elsewhere/1");
    expect(await collection.supportsInterface("0x49064906")).to.equal(true); // ERC-4906
    expect(await collection.supportsInterface("0x80ac58cd")).to.equal(true); // ERC-721
  });
{% if royalties %}
  it("reports 5% royalties to the deployer", async function () {
    const { collection, owner } = await deploy();
    const [receiver, amount] = await collection.royaltyInfo(1n, 10000n);
    expect(receiver).to.equal(owner.address);
    expect(amount).to.equal(500n);
    expect(await collection.supportsInterface("0x2a55205a")).to.equal(true); // ERC-2981
  });
{% endif %}});
