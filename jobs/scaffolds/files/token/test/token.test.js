// Tests for {{ contract_name }}; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");

const SUPPLY = {{ initial_supply }}n * 10n ** {{ decimals }}n;

describe("{{ contract_name }}", function () {
  async function deploy() {
    const [holder, other, third] = await ethers.getSigners();
    const token = await ethers.deployContract("{{ contract_name }}");
    return { token, holder, other, third };
  }

  it("mints the whole supply to the deployer", async function () {
    const { token, holder } = await deploy();
    expect(await token.decimals()).to.equal({{ decimals }}n);
    expect(await token.totalSupply()).to.equal(SUPPLY);
    expect(await token.balanceOf(holder.address)).to.equal(SUPPLY);
    expect(await token.name()).to.equal({{ name|js }});
    expect(await token.symbol()).to.equal({{ symbol|js }});
  });

  it("transfers tokens and says so in an event", async function () {
    const { token, holder, other } = await deploy();
    const transfer = token.transfer(other.address, 1n);
    await expect(transfer).to.emit(token, "Transfer").withArgs(holder.address, other.address, 1n);
    await expect(transfer).to.changeTokenBalances(token, [holder, other], [-1n, 1n]);
  });

  it("refuses to overdraw, naming the balance and the amount", async function () {
    const { token, holder, other } = await deploy();
    await token.transfer(other.address, 1n);
    await expect(token.connect(other).transfer(holder.address, 2n))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance").withArgs(other.address, 1n, 2n);
  });

  it("refuses to send to the zero address", async function () {
    const { token } = await deploy();
    await expect(token.transfer(ethers.ZeroAddress, 1n))
      .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver");
  });

  it("lets a spender move only what it was allowed", async function () {
    const { token, holder, other, third } = await deploy();
    await token.approve(other.address, 5n);
    await token.connect(other).transferFrom(holder.address, third.address, 5n);
    expect(await token.balanceOf(third.address)).to.equal(5n);
    await expect(token.connect(other).transferFrom(holder.address, third.address, 1n))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance");
  });
{% if burnable %}
  it("lets a holder burn their own tokens, and no more", async function () {
    const { token, holder, other } = await deploy();
    await expect(token.burn(1n)).to.changeTokenBalance(token, holder, -1n);
    expect(await token.totalSupply()).to.equal(SUPPLY - 1n);
    await expect(token.connect(other).burn(1n))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance");
  });
{% else %}
  it("has no burn function", async function () {
    const { token } = await deploy();
    expect(token.interface.getFunction("burn")).to.equal(null);
  });
{% endif %}});
