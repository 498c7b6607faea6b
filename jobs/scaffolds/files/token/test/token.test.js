// Tests for {{ contract_name }}; run with `npm test`.
const { expect } = require("chai");
const { ethers } = require("hardhat");

const SUPPLY = {{ initial_supply }}n * 10n ** {{ decimals }}n;

describe("{{ contract_name }}", function () {
  async function deploy() {
    const [holder, other] = await ethers.getSigners();
    const token = await ethers.deployContract("{{ contract_name }}");
    return { token, holder, other };
  }

  it("mints the whole supply to the deployer", async function () {
    const { token, holder } = await deploy();
    expect(await token.decimals()).to.equal({{ decimals }}n);
    expect(await token.totalSupply()).to.equal(SUPPLY);
    expect(await token.balanceOf(holder.address)).to.equal(SUPPLY);
    expect(await token.symbol()).to.equal({{ symbol|js }});
  });

  it("transfers tokens and refuses to overdraw", async function () {
    const { token, holder, other } = await deploy();
    await expect(token.transfer(other.address, 1n)).to.changeTokenBalances(token, [holder, other], [-1n, 1n]);
    await expect(token.connect(other).transfer(holder.address, 2n))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance");
  });
{% if burnable %}
  it("lets a holder burn tokens", async function () {
    const { token } = await deploy();
    await token.burn(1n);
    expect(await token.totalSupply()).to.equal(SUPPLY - 1n);
  });
{% endif %}});
