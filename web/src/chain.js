// Reads of the BatchGate through the user's own RPC URL (ethers), for the on-chain checks.
// Only view calls and event logs: the page never signs or sends a transaction, and the RPC
// URL the user types is the only place it connects to besides the page's own origin.

import { Contract, JsonRpcProvider, getAddress } from "ethers";

export async function gateReader(rpcUrl, gateAddress, abi) {
  let address;
  try {
    address = getAddress(gateAddress.trim());
  } catch {
    throw new Error(`gate address: not an address (${gateAddress.slice(0, 50)})`);
  }
  const provider = new JsonRpcProvider(rpcUrl.trim(), undefined, { staticNetwork: true, batchMaxCount: 1 });
  try {
    await provider.getBlockNumber();
  } catch (err) {
    provider.destroy();
    throw new Error(`RPC ${rpcUrl}: no answer (${err.shortMessage ?? err.message})`);
  }
  if ((await provider.getCode(address)) === "0x") {
    provider.destroy();
    throw new Error(`gate ${address}: no contract at this address on that chain`);
  }
  const gate = new Contract(address, abi, provider);
  const postedRoots = async (event) => {
    const logs = await gate.queryFilter(gate.filters[event](), 0);
    return new Map(logs.map((log) => [BigInt(log.args.root), BigInt(log.args.epoch)]));
  };
  return {
    address,
    close: () => provider.destroy(),
    accountsRoot: async () => [BigInt(await gate.accountsRoot()), BigInt(await gate.accountsEpoch())],
    accountsPosted: () => postedRoots("AccountsPosted"),
    latestMarket: async () => {
      const [root, epoch, postedAt, fresh] = await gate.latestMarket();
      return { root: BigInt(root), epoch: BigInt(epoch), postedAt: BigInt(postedAt), fresh: Boolean(fresh) };
    },
    marketsPosted: () => postedRoots("MarketPosted"),
    paramsHash: async () => BigInt(await gate.paramsHash()),
    statusOf: async (id) => {
      const v = await gate.statusOf(id);
      return {
        shortfall: BigInt(v.shortfall),
        provenAt: BigInt(v.provenAt),
        status: Number(v.status),
        liquidationOpen: Boolean(v.liquidationOpen),
      };
    },
  };
}
