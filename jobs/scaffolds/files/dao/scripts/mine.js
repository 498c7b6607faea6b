// Mines blocks on the local devnet so that votes can end without waiting:
// `npm run mine` skips one voting period ({{ voting_period_blocks }} blocks); BLOCKS=n mines n.
const hre = require("hardhat");

async function main() {
  const blocks = process.env.BLOCKS ? BigInt(process.env.BLOCKS) : {{ voting_period_blocks }}n + 1n;
  await hre.network.provider.send("hardhat_mine", [hre.ethers.toQuantity(blocks)]);
  const height = await hre.ethers.provider.getBlockNumber();
  console.log(`Mined ${blocks} blocks on ${hre.network.name}; now at block ${height}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
