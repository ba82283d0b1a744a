"""Payment-model contracts: how value-based arrangements move money between parties."""

from vbcsim.contracts.base import PARTIES, Contract, Needs, Settlement, SettlementContext, transfer

__all__ = ["PARTIES", "Contract", "Needs", "Settlement", "SettlementContext", "transfer"]
